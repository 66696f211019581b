# expect: schedule_expression at(2027-03-28T02:30:00) never happens in Europe/Rome (schedule_timezone): on 2027-03-28 the clocks go forward and the local times from 02:00 to 03:00 do not exist, so EventBridge Scheduler would never run this one-time job. Give a time outside the gap, e.g. at(2027-03-28T03:00:00) (its end), or a UTC time with schedule_timezone = "UTC" (no daylight saving).
# A one-time job at a local time the clocks skip (dst.tf's table) fails the fleet's plan with the
# input, the zone, the gap and the fix, not silently never running.
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
    secret_arn        = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    database_host     = "db.example.internal"
    schedule_timezone = "Europe/Rome"
  }
  jobs = {
    once = { sql = "SELECT 1", schedule_expression = "at(2027-03-28T02:30:00)" }
  }
}

run "at_in_the_spring_gap" {
  command = plan
}
