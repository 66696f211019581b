# expect: export.prefix must be a key prefix without a leading '/'
# A job's export validation fails the fleet's plan with the job module's message.
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

run "export_prefix_with_leading_slash" {
  command = plan
  variables {
    jobs = {
      bad = {
        sql                 = "SELECT * FROM app.orders"
        schedule_expression = "cron(0 1 * * ? *)"
        export              = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "/orders/" }
      }
    }
  }
}
