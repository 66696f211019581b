# expect: needs rotation.master_secret_arn
# Built-in rotation with alternating users but no master secret is refused at plan (inside the job module).
mock_provider "aws" {
  override_during = plan
  mock_data "aws_region" {
    defaults = { name = "eu-south-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-south-1:123456789012:key/fleet" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-south-1:123456789012:fleet-alarms" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/fleet-role" }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0f1ee70f1ee70f1ee" }
  }
  mock_resource "aws_vpc_endpoint" {
    defaults = { id = "vpce-0123456789abcdef0" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-purge-db-XyZ" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-south-1:123456789012:function:fleet-job" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-south-1:123456789012:log-group:/aws/lambda/fleet-job" }
  }
}

variables {
  name                       = "fleet"
  package_path               = "tests/fixtures/package.zip"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-aaaa", "subnet-bbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  secretsmanager_endpoint    = "create"
  defaults = {
    secret_arn        = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbC"
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

run "rotation_alternating_users_without_master_secret" {
  command = plan
  variables {
    jobs = {
      rotated = { sql = "SELECT 1", schedule_expression = "rate(1 hour)", create_secret = true, secret_username = "app_job", rotation = { strategy = "alternating-users" } }
    }
  }
}
