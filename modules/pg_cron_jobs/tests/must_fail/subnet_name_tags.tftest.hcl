# expect: subnet_ids must be subnet ids, subnet-0123456789abcdef0 (module.vpc.private_subnets), not Name tags or CIDR blocks; refused: "private-a", "private-b".
# A fleet given its subnets' Name tags fails at plan (in the shared layer, which the map passes
# them to), naming the input and what it wants, not at CreateFunction after the roles exist.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "fleet"
  package_path               = "tests/fixtures/package.zip"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["private-a", "private-b"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  defaults = {
    secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
  }
  jobs = {
    purge = {
      sql                 = "SELECT 1"
      schedule_expression = "cron(30 3 * * ? *)"
    }
  }
}

run "plan" {
  command = plan
}
