# Plan/apply tests with a mocked AWS provider (no AWS API is reachable from `terraform test`;
# the end-to-end test in test/e2e applies the module against a real local AWS API server).
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-south-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  # Policy documents are asserted through their statement blocks; the JSON only has to be valid.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-south-1:123456789012:purge-failures" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/purge-role" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-south-1:123456789012:purge-alarms" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:purge-db-XyZ" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-south-1:123456789012:function:purge" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-south-1:123456789012:log-group:/aws/lambda/purge" }
  }
}

variables {
  name                       = "purge"
  package_path               = "tests/fixtures/package.zip"
  sql_file                   = "sql/purge_events.sql"
  schedule_expression        = "cron(30 2 * * ? *)"
  schedule_timezone          = "Europe/Rome"
  secret_arn                 = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-aaaa", "subnet-bbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  database_name              = "app"
}

run "defaults" {
  command = plan

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      DB_SECRET_ID         = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
      SQL_FILE             = "sql/purge_events.sql"
      JOB_NAME             = "purge"
      PGSSLMODE            = "verify-full"
      PGPORT               = "5432"
      PGDATABASE           = "app"
      AUTH_MODE            = "secret"
      TRANSACTION          = "false"
      ALLOW_OVERLAP        = "false"
      REPEAT_UNTIL_ZERO    = "false"
      CONTINUE_ON_DEADLINE = "false"
      RUST_LOG             = "info"
    })
    error_message = "The function environment must be exactly what the runner reads."
  }

  assert {
    condition     = aws_lambda_function.this.runtime == "provided.al2023" && aws_lambda_function.this.handler == "bootstrap"
    error_message = "The function must use the OS-only runtime with the bootstrap handler."
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 1 && aws_lambda_function.this.architectures == tolist(["x86_64"])
    error_message = "One run at a time and x86_64 by default."
  }

  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_format == "JSON"
    error_message = "Logs must be JSON."
  }

  assert {
    condition     = aws_scheduler_schedule.this.schedule_expression == "cron(30 2 * * ? *)" && aws_scheduler_schedule.this.schedule_expression_timezone == "Europe/Rome"
    error_message = "Schedule expression and time zone must be passed through."
  }

  assert {
    condition     = aws_scheduler_schedule.this.target[0].retry_policy[0].maximum_retry_attempts == 0
    error_message = "Scheduler must not retry by default (jobs are not idempotent)."
  }

  assert {
    condition     = aws_scheduler_schedule.this.flexible_time_window[0].mode == "OFF" && aws_scheduler_schedule.this.state == "ENABLED"
    error_message = "Runs start on time and the schedule is enabled by default."
  }

  assert {
    condition     = jsondecode(aws_scheduler_schedule.this.target[0].input).id == "<aws.scheduler.execution-id>"
    error_message = "Every scheduled event must carry Scheduler's execution id."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 0
    error_message = "Lambda must not retry a failed run asynchronously."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.lambda.statement : s.resources if s.sid == "ReadOwnSecret"])) == toset([
      "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
    ])
    error_message = "The function may read exactly its own secret."
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.lambda.statement : s if contains(s.actions, "secretsmanager:GetSecretValue")]) == 1
    error_message = "Only one statement may grant GetSecretValue."
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.lambda.statement : s if s.sid == "InvokeSelfForContinuation" || s.sid == "IamDatabaseAuth" || s.sid == "DecryptSecretViaSecretsManager"]) == 0
    error_message = "No self-invoke, IAM auth or KMS permission unless asked for."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.database_sg[0].from_port == 5432 && aws_vpc_security_group_egress_rule.database_sg[0].referenced_security_group_id == "sg-0db0db0db0db0db00"
    error_message = "Egress to the database security group on the database port."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.https["0.0.0.0/0"].from_port == 443 && aws_vpc_security_group_egress_rule.https["0.0.0.0/0"].to_port == 443
    error_message = "HTTPS egress only on 443."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.database) == 1 && aws_vpc_security_group_ingress_rule.database[0].security_group_id == "sg-0db0db0db0db0db00"
    error_message = "The database security group must admit the function."
  }

  assert {
    condition     = length(aws_vpc_endpoint.secretsmanager) == 0 && length(aws_secretsmanager_secret.this) == 0
    error_message = "No endpoint and no secret unless asked for."
  }
}

run "created_secret_with_rotation_and_endpoint" {
  variables {
    secret_arn                     = null
    create_secret                  = true
    secret_username                = "purge_job"
    database_host                  = "db.example.internal"
    rotation_lambda_arn            = "arn:aws:lambda:eu-south-1:123456789012:function:rotate"
    rotation_days                  = 7
    create_secretsmanager_endpoint = true
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.this[0].rotation_rules[0].automatically_after_days == 7
    error_message = "Rotation schedule must follow rotation_days."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.this[0].secret_string_wo_version == 1
    error_message = "The created secret is written write-only."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["DB_SECRET_ID"] == aws_secretsmanager_secret.this[0].arn
    error_message = "The function must read the created secret."
  }

  assert {
    condition     = aws_vpc_endpoint.secretsmanager[0].service_name == "com.amazonaws.eu-south-1.secretsmanager" && aws_vpc_endpoint.secretsmanager[0].private_dns_enabled
    error_message = "The Secrets Manager endpoint must be an interface endpoint with private DNS."
  }
}

run "iam_auth" {
  command = plan

  variables {
    secret_arn               = null
    auth_mode                = "iam"
    database_host            = "db.example.internal"
    database_user            = "purge_job"
    iam_database_resource_id = "db-ABCDEFGHIJKL"
  }

  assert {
    condition = flatten([for s in data.aws_iam_policy_document.lambda.statement : s.resources if s.sid == "IamDatabaseAuth"]) == [
      "arn:aws:rds-db:eu-south-1:123456789012:dbuser:db-ABCDEFGHIJKL/purge_job"
    ]
    error_message = "rds-db:connect must be granted for exactly the job user on the database."
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "DB_SECRET_ID") && aws_lambda_function.this.environment[0].variables["AUTH_MODE"] == "iam"
    error_message = "IAM auth needs no secret."
  }
}

run "continuation" {
  command = plan

  variables {
    sql_file             = null
    sql                  = "DELETE FROM app.events WHERE id IN (SELECT id FROM app.events WHERE created_at < now() - interval '90 days' LIMIT 5000)"
    repeat_until_zero    = true
    continue_on_deadline = true
    history_table        = "cron_jobs.job_run_details"
  }

  assert {
    condition = flatten([for s in data.aws_iam_policy_document.lambda.statement : s.resources if s.sid == "InvokeSelfForContinuation"]) == [
      "arn:aws:lambda:eu-south-1:123456789012:function:purge"
    ]
    error_message = "Self-invoke must be granted on the function itself only."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["MAX_CONTINUATIONS"] == "10" && aws_lambda_function.this.environment[0].variables["HISTORY_RETENTION_DAYS"] == "30"
    error_message = "Continuation and history settings reach the runner."
  }
}

run "rejects_bad_cron" {
  command = plan
  variables {
    schedule_expression = "cron(30 2 * * *)"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_cron_without_question_mark" {
  command = plan
  variables {
    schedule_expression = "cron(30 2 * * * *)"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_timeout_over_900" {
  command = plan
  variables {
    timeout = 901
  }
  expect_failures = [var.timeout]
}

run "rejects_sql_and_sql_file" {
  command = plan
  variables {
    sql = "SELECT 1"
  }
  expect_failures = [var.sql]
}

run "rejects_no_credentials" {
  command = plan
  variables {
    secret_arn = null
  }
  expect_failures = [var.secret_arn]
}

run "rejects_secret_arn_and_create_secret" {
  command = plan
  variables {
    create_secret   = true
    secret_username = "job"
    database_host   = "db"
  }
  expect_failures = [var.secret_arn]
}

run "rejects_bad_timezone" {
  command = plan
  variables {
    schedule_timezone = "Rome time"
  }
  expect_failures = [var.schedule_timezone]
}

run "rejects_unknown_architecture" {
  command = plan
  variables {
    architecture = "arm"
  }
  expect_failures = [var.architecture]
}

run "rejects_continuation_without_history" {
  command = plan
  variables {
    continue_on_deadline = true
  }
  expect_failures = [var.continue_on_deadline]
}

run "rejects_managed_variable_in_environment" {
  command = plan
  variables {
    environment = { SQL = "DROP TABLE users" }
  }
  expect_failures = [var.environment]
}

run "rejects_iam_without_resource_id" {
  command = plan
  variables {
    secret_arn    = null
    auth_mode     = "iam"
    database_host = "db"
  }
  expect_failures = [var.database_host]
}
