# expect: fleet-reader calls the RDS API (db_cluster_identifier / db_instance_identifier), which its network cannot reach
# With the Secrets Manager endpoint and no NAT egress, a job naming its cluster could not reach
# the RDS API at run time: the plan says so, with the fix.
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
  secretsmanager_endpoint    = "create"
  defaults = {
    secret_arn        = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    database_host     = "db.example.internal"
    database_name     = "app"
    schedule_timezone = "Europe/Rome"
  }
  jobs = {
    purge = {
      sql_file            = "sql/purge_events.sql"
      sql_source_path     = "tests/fixtures/purge_events.sql"
      schedule_expression = "cron(30 2 * * ? *)"
      create_secret       = true
      secret_username     = "purge_job"
    }
    vacuum = {
      sql                 = "VACUUM (ANALYZE) app.events"
      schedule_expression = "cron(0 4 ? * SUN *)"
      schedule_timezone   = "UTC"
    }
    refresh = {
      sql                 = "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.daily_sales"
      schedule_expression = "rate(1 hour)"
      log_level           = "debug"
    }
  }
}

run "rds_api_without_a_route" {
  command = plan
  variables {
    jobs = {
      reader = { sql = "SELECT 1", schedule_expression = "cron(0 2 * * ? *)", db_cluster_identifier = "app-aurora" }
    }
  }
}
