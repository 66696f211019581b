# expect: role_path must be "/" or start and end with '/'
# A jobs entry's own IAM input reaches its job module (and is checked there).
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "fleet"
  package_path               = "tests/fixtures/package.zip"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  defaults = {
    secret_arn    = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    database_host = "db.example.internal"
  }
  jobs = {
    vacuum = { sql = "VACUUM", schedule_expression = "rate(1 day)", role_path = "pg-cron-job" }
  }
}

run "bad_role_path_in_a_job" {
  command = plan
}
