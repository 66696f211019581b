# expect: expected_interval_seconds was removed in 0.3 (jobs purge): delete it.
# An input removed in 0.3 is named as removed, with what replaces it, not as a misspelling.
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
    purge = {
      sql                       = "DELETE FROM app.events WHERE created_at < now() - interval '90 days'"
      schedule_expression       = "cron(0 4 * * ? *)"
      expected_interval_seconds = 86400
    }
  }
}

run "removed_expected_interval" {
  command = plan
}
