# Plan/apply tests with a mocked AWS provider (no AWS API is reachable from `terraform test`;
# the end-to-end test in test/e2e applies the module against a real local AWS API server).
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "purge"
  package_path               = "tests/fixtures/package.zip"
  sql_file                   = "sql/purge_events.sql"
  sql_source_path            = "tests/fixtures/purge_events.sql"
  schedule_expression        = "cron(30 3 * * ? *)"
  schedule_timezone          = "Europe/Rome"
  secret_arn                 = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  database_name              = "app"
}

run "defaults" {
  command = plan

  assert {
    condition = aws_lambda_function.this[0].environment[0].variables == tomap({
      DB_SECRET_ID         = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
      SQL_FILE             = "sql/purge_events.sql"
      SQL_SHA256           = filesha256("tests/fixtures/purge_events.sql")
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
    condition     = aws_lambda_function.this[0].runtime == "provided.al2023" && aws_lambda_function.this[0].handler == "job"
    error_message = "The function must use the OS-only runtime with the package's job handler."
  }

  assert {
    condition     = aws_lambda_function.this[0].reserved_concurrent_executions == 1 && aws_lambda_function.this[0].architectures == tolist(["x86_64"])
    error_message = "One run at a time and x86_64 by default."
  }

  assert {
    condition     = aws_lambda_function.this[0].logging_config[0].log_format == "JSON"
    error_message = "Logs must be JSON."
  }

  assert {
    condition     = aws_scheduler_schedule.this[0].schedule_expression == "cron(30 3 * * ? *)" && aws_scheduler_schedule.this[0].schedule_expression_timezone == "Europe/Rome"
    error_message = "Schedule expression and time zone must be passed through."
  }

  assert {
    condition     = aws_scheduler_schedule.this[0].target[0].retry_policy[0].maximum_retry_attempts == 0
    error_message = "Scheduler must not retry by default (jobs are not idempotent)."
  }

  assert {
    condition     = aws_scheduler_schedule.this[0].flexible_time_window[0].mode == "OFF" && aws_scheduler_schedule.this[0].state == "ENABLED"
    error_message = "Runs start on time and the schedule is enabled by default."
  }

  assert {
    condition     = jsondecode(aws_scheduler_schedule.this[0].target[0].input).id == "<aws.scheduler.execution-id>"
    error_message = "Every scheduled event must carry Scheduler's execution id."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this[0].maximum_retry_attempts == 0
    error_message = "Lambda must not retry a failed run asynchronously."
  }

  assert {
    condition = toset(flatten([for s in module.permissions[0].statements : s.resources if s.sid == "ReadOwnSecret"])) == toset([
      "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
    ])
    error_message = "The function may read exactly its own secret."
  }

  assert {
    condition     = length([for s in module.permissions[0].statements : s if contains(s.actions, "secretsmanager:GetSecretValue")]) == 1
    error_message = "Only one statement may grant GetSecretValue."
  }

  assert {
    condition     = length([for s in module.permissions[0].statements : s if s.sid == "InvokeSelfForContinuation" || s.sid == "IamDatabaseAuth" || s.sid == "DecryptSecretViaSecretsManager"]) == 0
    error_message = "No self-invoke, IAM auth or KMS permission unless asked for."
  }

  assert {
    condition     = aws_lambda_function.this[0].vpc_config[0].security_group_ids == toset([module.shared[0].security_group_id]) && length(module.shared) == 1
    error_message = "On its own, the job creates its shared layer (security group, queue, scheduler role) and uses its security group."
  }

  assert {
    condition     = module.shared[0].secretsmanager_endpoint_id == null && length(aws_secretsmanager_secret.this) == 0
    error_message = "No endpoint and no secret unless asked for."
  }
}

run "created_secret_with_rotation_and_endpoint" {
  command = plan

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
    condition     = aws_lambda_function.this[0].environment[0].variables["DB_SECRET_ID"] == aws_secretsmanager_secret.this[0].arn
    error_message = "The function must read the created secret."
  }

  assert {
    condition     = module.shared[0].secretsmanager_endpoint_id != null
    error_message = "create_secretsmanager_endpoint = true on a standalone job creates the endpoint (in its shared layer)."
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
    condition = flatten([for s in module.permissions[0].statements : s.resources if s.sid == "IamDatabaseAuth"]) == [
      "arn:aws:rds-db:eu-south-1:123456789012:dbuser:db-ABCDEFGHIJKL/purge_job"
    ]
    error_message = "rds-db:connect must be granted for exactly the job user on the database."
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.this[0].environment[0].variables), "DB_SECRET_ID") && aws_lambda_function.this[0].environment[0].variables["AUTH_MODE"] == "iam"
    error_message = "IAM auth needs no secret."
  }
}

run "continuation" {
  command = plan

  variables {
    sql_file             = null
    sql_source_path      = null
    sql                  = "DELETE FROM app.events WHERE id IN (SELECT id FROM app.events WHERE created_at < now() - interval '90 days' LIMIT 5000)"
    repeat_until_zero    = true
    continue_on_deadline = true
    history_table        = "cron_jobs.job_run_details"
  }

  assert {
    condition = flatten([for s in module.permissions[0].statements : s.resources if s.sid == "InvokeSelfForContinuation"]) == [
      "arn:aws:lambda:eu-south-1:123456789012:function:purge"
    ]
    error_message = "Self-invoke must be granted on the function itself only."
  }

  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["MAX_CONTINUATIONS"] == "10" && aws_lambda_function.this[0].environment[0].variables["HISTORY_RETENTION_DAYS"] == "30"
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

# A name or a partial ARN in the grant's Resource: IAM refuses the one, never matches the other.
run "rejects_secret_name_instead_of_arn" {
  command = plan
  variables {
    secret_arn = "app/master-credentials"
  }
  expect_failures = [var.secret_arn]
}

run "rejects_partial_secret_arn" {
  command = plan
  variables {
    secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app/master-credentials"
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

# --- Log level: RUST_LOG and Lambda's JSON log filter move together --------------------------
# With JSON logs Lambda drops application lines below application_log_level (read from the
# "level" field), so RUST_LOG=debug alone would show nothing:
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html

run "log_level_debug_reaches_lambda" {
  command = plan
  variables {
    log_level = "debug"
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["RUST_LOG"] == "debug" && aws_lambda_function.this[0].logging_config[0].application_log_level == "DEBUG"
    error_message = "log_level = debug must set RUST_LOG and Lambda's application log level."
  }
}

run "log_level_directives_use_most_verbose_level" {
  command = plan
  variables {
    log_level = "info,tokio_postgres=trace"
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["RUST_LOG"] == "info,tokio_postgres=trace" && aws_lambda_function.this[0].logging_config[0].application_log_level == "TRACE"
    error_message = "Lambda's filter must let through the most verbose level of the directives."
  }
}

run "rejects_rust_log_in_environment" {
  command = plan
  variables {
    environment = { RUST_LOG = "debug" }
  }
  expect_failures = [var.environment]
}

run "rejects_unknown_log_level" {
  command = plan
  variables {
    log_level = "verbose"
  }
  expect_failures = [var.log_level]
}

# --- Names: Lambda function and schedule names <= 64; IAM role name_prefix <= 38 ------------------
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html (FunctionName, 64)
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (role name 64; the
# provider appends a 26-character suffix to name_prefix)

run "long_name_fits_every_aws_limit" {
  command = plan
  variables {
    name = "a-very-long-job-name-for-the-nightly-purge-of-events-0123456789"
  }
  assert {
    condition     = length(aws_iam_role.lambda[0].name_prefix) <= 38 && length(aws_lambda_function.this[0].function_name) <= 64 && length(aws_scheduler_schedule.this[0].name) <= 64
    error_message = "Every name and name_prefix must fit AWS's limits."
  }
}

run "rejects_name_over_64" {
  command = plan
  variables {
    name = "a-very-long-job-name-for-the-nightly-purge-of-events-0123456789-x"
  }
  expect_failures = [var.name]
}

# --- Event age: Lambda keeps asynchronous events at most 21600 s --------------------------------
# https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html

run "rejects_event_age_over_21600" {
  command = plan
  variables {
    maximum_event_age_seconds = 21601
  }
  expect_failures = [var.maximum_event_age_seconds]
}

run "rejects_event_age_under_60" {
  command = plan
  variables {
    maximum_event_age_seconds = 59
  }
  expect_failures = [var.maximum_event_age_seconds]
}

# --- Schedule expressions and time zones ------------------------------------------------------
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html

run "accepts_cron_features_and_iana_links" {
  command = plan
  variables {
    schedule_expression = "cron(0/15 8-17 ? * MON-FRI 2026-2199)"
    schedule_timezone   = "EST5EDT"
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].schedule_expression_timezone == "EST5EDT"
    error_message = "EST5EDT is an IANA zone Scheduler accepts."
  }
}

run "accepts_cet_and_etc_zones" {
  command = plan
  variables {
    schedule_expression = "cron(0 10 ? * 6#3 *)"
    schedule_timezone   = "CET"
  }
}

run "accepts_etc_gmt_and_last_day" {
  command = plan
  variables {
    schedule_expression = "cron(0 12 L * ? *)"
    schedule_timezone   = "Etc/GMT+5"
  }
}

run "rejects_minute_99" {
  command = plan
  variables {
    schedule_expression = "cron(99 2 * * ? *)"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_hour_24" {
  command = plan
  variables {
    schedule_expression = "cron(0 24 * * ? *)"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_day_32_month_13_year_2200" {
  command = plan
  variables {
    schedule_expression = "cron(0 0 32 13 ? 2200)"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_weekday_8" {
  command = plan
  variables {
    schedule_expression = "cron(0 0 ? * 8 *)"
  }
  expect_failures = [var.schedule_expression]
}

# Scheduler's cron rules: one of day-of-month and day-of-week is '?', the other says which days
# (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based).
run "rejects_both_day_fields_question_marks" {
  command = plan
  variables {
    schedule_expression = "cron(0 2 ? * ? *)"
  }
  expect_failures = [var.schedule_expression]
}

# 31 February does not exist: the schedule would be created and never fire.
run "rejects_a_day_the_month_does_not_have" {
  command = plan
  variables {
    schedule_expression = "cron(0 2 30,31 FEB ? *)"
  }
  expect_failures = [var.schedule_expression]
}

run "accepts_29_february_and_the_last_day" {
  command = plan
  variables {
    schedule_expression = "cron(0 12 29 2 ? *)"
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].schedule_expression == "cron(0 12 29 2 ? *)"
    error_message = "29 February fires in leap years."
  }
}

run "rejects_a_past_year" {
  command = plan
  variables {
    schedule_expression = "cron(0 2 * * ? 2020-2024)"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_a_past_at" {
  command = plan
  variables {
    schedule_expression = "at(2025-01-31T02:00:00)"
  }
  expect_failures = [var.schedule_expression]
}

run "accepts_a_year_range_reaching_the_future" {
  command = plan
  variables {
    schedule_expression = "cron(0 12 * * ? 2020-2199)"
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].schedule_expression == "cron(0 12 * * ? 2020-2199)"
    error_message = "A year range that reaches the future is accepted."
  }
}

run "rejects_rate_unit_number_mismatch" {
  command = plan
  variables {
    schedule_expression = "rate(1 hours)"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_misspelt_zone" {
  command = plan
  variables {
    schedule_timezone = "Europe/Rom"
  }
  expect_failures = [var.schedule_timezone]
}

run "rejects_zone_in_wrong_case" {
  command = plan
  variables {
    schedule_timezone = "europe/rome"
  }
  expect_failures = [var.schedule_timezone]
}

# --- SQL change detection ------------------------------------------------------------------------

run "sql_hash_follows_the_repository_file" {
  command = plan
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["SQL_SHA256"] == filesha256("tests/fixtures/purge_events.sql") && output.sql_sha256 == filesha256("tests/fixtures/purge_events.sql")
    error_message = "SQL_SHA256 must be the SHA-256 of the consumer's copy of the SQL file."
  }
}

run "rejects_sql_file_without_source" {
  command = plan
  variables {
    sql_source_path = null
  }
  expect_failures = [var.sql_source_path]
}

run "rejects_missing_sql_source" {
  command = plan
  variables {
    sql_source_path = "tests/fixtures/no_such.sql"
  }
  expect_failures = [var.sql_source_path]
}

run "rejects_sha256_in_environment" {
  command = plan
  variables {
    environment = { SQL_SHA256 = "0000" }
  }
  expect_failures = [var.environment]
}

# --- Rotation ------------------------------------------------------------------------------------

run "rejects_rotation_of_an_existing_secret" {
  command = plan
  variables {
    rotation_lambda_arn = "arn:aws:lambda:eu-south-1:123456789012:function:rotate"
  }
  expect_failures = [var.rotation_lambda_arn]
}

# --- Alarms: one page per failed run, one per start without a run, whatever the schedule -------
# The watchdog (modules/pg_cron_job_shared/watchdog.tf) writes Late with dimension Job; the alarm
# pages at the first Late = 1 of 3 periods and goes INSUFFICIENT_DATA when the whole range has no
# datapoint (treat_missing_data "missing"), never frozen in its last state:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html

run "alarms_carry_the_job_dimension_and_clear" {
  command = plan
  assert {
    condition     = aws_cloudwatch_metric_alarm.failed[0].dimensions == tomap({ FunctionName = "purge" })
    error_message = "The failed alarm must watch this job's function only."
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.late[0].namespace == "PgCronJob" && aws_cloudwatch_metric_alarm.late[0].metric_name == "Late"
      && aws_cloudwatch_metric_alarm.late[0].dimensions == tomap({ Job = "purge" }) && aws_cloudwatch_metric_alarm.late[0].statistic == "Maximum"
      && aws_cloudwatch_metric_alarm.late[0].threshold == 1 && aws_cloudwatch_metric_alarm.late[0].comparison_operator == "GreaterThanOrEqualToThreshold"
    && aws_cloudwatch_metric_alarm.late[0].treat_missing_data == "missing" && aws_cloudwatch_metric_alarm.late[0].evaluation_periods == 3 && aws_cloudwatch_metric_alarm.late[0].datapoints_to_alarm == 1)
    error_message = "The late alarm reads the watchdog's Late metric of this job: 1 of 3 periods pages, no data for the range is INSUFFICIENT_DATA."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.failed[0].alarm_actions) == 1 && try(length(aws_cloudwatch_metric_alarm.failed[0].ok_actions), 0) == 0 && try(length(aws_cloudwatch_metric_alarm.late[0].ok_actions), 0) == 0
    error_message = "Alarms page through the topic and have no ok_actions (a new alarm's INSUFFICIENT_DATA -> OK would notify; recoveries go through the shared layer's rule)."
  }
  assert {
    condition = (jsondecode(aws_scheduler_schedule.this[0].target[0].input).watch == {
      fleet = "purge", job = "purge", grace_seconds = 300, timeout_seconds = 300
    })
    error_message = "The schedule tells the watchdog its fleet, job, grace and timeout."
  }
  assert {
    condition     = module.shared[0].watchdog_function_name == "purge-watchdog"
    error_message = "A job on its own gets its own watchdog."
  }
}

run "every_schedule_is_watched" {
  command = plan
  variables {
    schedule_expression = "cron(0 6 ? * MON-FRI *)"
    grace_minutes       = 20
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 1 && jsondecode(aws_scheduler_schedule.this[0].target[0].input).watch.grace_seconds == 1200
    error_message = "Weekday mornings get a late alarm, with the job's grace time."
  }
}

run "monthly_last_day_and_one_time_schedules_are_watched" {
  command = plan
  variables {
    schedule_expression = "cron(30 23 L * ? *)"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 1
    error_message = "The last day of the month gets a late alarm (the interval heuristics are gone)."
  }
}

run "paused_jobs_keep_their_late_alarm" {
  command = plan
  variables {
    schedule_enabled    = false
    schedule_expression = "at(2027-01-01T03:00:00)"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 1 && aws_scheduler_schedule.this[0].state == "DISABLED"
    error_message = "A paused job keeps its late alarm (the watchdog reports it paused: Late = 0)."
  }
}

run "rejects_fractional_or_huge_grace" {
  command = plan
  variables {
    grace_minutes = 2000
  }
  expect_failures = [var.grace_minutes]
}

run "rejects_a_timeout_within_the_deadline_margin" {
  command = plan
  variables {
    timeout = 3
  }
  expect_failures = [var.timeout]
}

# --- KMS: who sends to the encrypted failures queue may use its key ----------------------------
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html

run "function_may_use_the_queue_key" {
  command = plan
  assert {
    condition = toset(flatten([for s in module.permissions[0].statements : s.actions if s.sid == "EncryptedFailureDestination"])) == toset(["kms:GenerateDataKey", "kms:Decrypt"]) && flatten([
      for s in module.permissions[0].statements : s.resources if s.sid == "EncryptedFailureDestination"
    ]) == [module.shared[0].kms_key_arn]
    error_message = "The function's role must be allowed kms:GenerateDataKey and kms:Decrypt on the queue's key."
  }
}

# --- In a fleet: the shared layer is given, nothing shared is created per job ------------------

run "fleet_member_uses_the_shared_layer" {
  command = plan
  variables {
    database_security_group_id = null
    shared = {
      security_group_id  = "sg-0f1ee70f1ee70f1ee"
      scheduler_role_arn = "arn:aws:iam::123456789012:role/fleet-sched"
      failure_queue_arn  = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures"
      kms_key_arn        = "arn:aws:kms:eu-south-1:123456789012:key/fleet"
      alarm_topic_arn    = "arn:aws:sns:eu-south-1:123456789012:fleet-alarms"
    }
  }
  assert {
    condition     = length(module.shared) == 0 && aws_lambda_function.this[0].vpc_config[0].security_group_ids == toset(["sg-0f1ee70f1ee70f1ee"])
    error_message = "A fleet member must not create its own security group, queue, role, key or topic."
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].target[0].role_arn == "arn:aws:iam::123456789012:role/fleet-sched" && aws_scheduler_schedule.this[0].target[0].dead_letter_config[0].arn == "arn:aws:sqs:eu-south-1:123456789012:fleet-failures"
    error_message = "The schedule must use the shared role and queue."
  }
  assert {
    condition     = aws_lambda_function_event_invoke_config.this[0].destination_config[0].on_failure[0].destination == "arn:aws:sqs:eu-south-1:123456789012:fleet-failures" && aws_cloudwatch_metric_alarm.failed[0].alarm_actions == toset(["arn:aws:sns:eu-south-1:123456789012:fleet-alarms"])
    error_message = "Failures go to the shared queue, alarms to the shared topic."
  }
}

run "rejects_per_job_endpoint_in_a_fleet" {
  command = plan
  variables {
    database_security_group_id     = null
    create_secretsmanager_endpoint = true
    shared = {
      security_group_id  = "sg-0f1ee70f1ee70f1ee"
      scheduler_role_arn = "arn:aws:iam::123456789012:role/fleet-sched"
      failure_queue_arn  = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures"
    }
  }
  expect_failures = [var.database_security_group_id]
}

run "create_false_creates_nothing" {
  command = plan
  variables {
    create = false
  }
  assert {
    condition     = length(aws_lambda_function.this) == 0 && length(module.shared) == 0 && output.function_arn == null
    error_message = "create = false must create nothing."
  }
}

# --- Extraction jobs (export to S3) ------------------------------------------------------------
# Every part of a multipart upload (CreateMultipartUpload, UploadPart, CompleteMultipartUpload)
# and the manifest's PutObject are authorized by s3:PutObject; a failed export aborts with
# s3:AbortMultipartUpload; with SSE-KMS the role also needs kms:GenerateDataKey and kms:Decrypt:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions

run "export_defaults" {
  command = plan

  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT * FROM app.orders"
    export = {
      bucket_arn = "arn:aws:s3:::acme-exports"
      prefix     = "orders/"
    }
  }

  assert {
    condition = {
      for k, v in aws_lambda_function.this[0].environment[0].variables : k => v if startswith(k, "EXPORT_")
      } == {
      EXPORT_S3_URI   = "s3://acme-exports/orders/{job}/{scheduled_date}/{job}-{scheduled_time}.csv.gz"
      EXPORT_FORMAT   = "csv"
      EXPORT_HEADER   = "true"
      EXPORT_MANIFEST = "false"
    }
    error_message = "An export with defaults: gzipped CSV with a header under the prefix, SSE-S3, no manifest."
  }

  assert {
    condition = [for s in module.permissions[0].statements : {
      actions = toset(s.actions), resources = toset(s.resources) } if length([for a in s.actions : a if startswith(a, "s3:")]) > 0
      ] == [{
        actions   = toset(["s3:PutObject", "s3:AbortMultipartUpload"])
        resources = toset(["arn:aws:s3:::acme-exports/orders/*"])
    }]
    error_message = "One statement grants S3: exactly s3:PutObject and s3:AbortMultipartUpload, on the prefix only."
  }

  assert {
    condition     = length([for s in module.permissions[0].statements : s if length([for a in s.actions : a if startswith(a, "kms:")]) > 0]) == 1
    error_message = "Without export.kms_key_arn no KMS permission is added for the export (only the failures queue's key)."
  }

  assert {
    condition     = length([for s in module.permissions[0].statements : s if s.sid == "ExportEncryption"]) == 0
    error_message = "No export KMS statement without a key."
  }
}

run "export_jsonl_kms_manifest" {
  command = plan

  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "WITH o AS (SELECT * FROM app.orders) SELECT * FROM o"
    export = {
      bucket_arn            = "arn:aws:s3:::acme-exports"
      prefix                = "exports/orders/"
      key                   = "{scheduled_date}/{job}-{run_id}.jsonl"
      format                = "jsonl"
      header                = true
      compression           = "gzip"
      kms_key_arn           = "arn:aws:kms:eu-south-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
      expected_bucket_owner = "123456789012"
      manifest              = true
    }
  }

  assert {
    condition = {
      for k, v in aws_lambda_function.this[0].environment[0].variables : k => v if startswith(k, "EXPORT_")
      } == {
      EXPORT_S3_URI       = "s3://acme-exports/exports/orders/{scheduled_date}/{job}-{run_id}.jsonl"
      EXPORT_FORMAT       = "jsonl"
      EXPORT_COMPRESSION  = "gzip"
      EXPORT_KMS_KEY_ID   = "arn:aws:kms:eu-south-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
      EXPORT_BUCKET_OWNER = "123456789012"
      EXPORT_MANIFEST     = "true"
    }
    error_message = "Every export setting reaches the runner; EXPORT_HEADER only goes with CSV."
  }

  assert {
    condition = [for s in module.permissions[0].statements : {
      actions = toset(s.actions), resources = toset(s.resources) } if s.sid == "ExportEncryption"
      ] == [{
        actions   = toset(["kms:GenerateDataKey", "kms:Decrypt"])
        resources = toset(["arn:aws:kms:eu-south-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"])
    }] && [for s in module.permissions[0].statements : [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"] if s.sid == "ExportEncryption"] == [["StringEquals kms:ViaService s3.eu-south-1.amazonaws.com"]]
    error_message = "SSE-KMS multipart uploads need kms:GenerateDataKey and kms:Decrypt on exactly the export key, through S3 only."
  }

  assert {
    condition     = flatten([for s in module.permissions[0].statements : s.resources if s.sid == "ExportObjects"]) == ["arn:aws:s3:::acme-exports/exports/orders/*"]
    error_message = "The S3 grant names only the prefix."
  }
}

run "export_uncompressed_text_default_key" {
  command = plan

  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "TABLE app.orders"
    export = {
      bucket_arn  = "arn:aws:s3:::acme-exports"
      prefix      = "raw/"
      format      = "text"
      compression = "none"
    }
  }

  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["EXPORT_S3_URI"] == "s3://acme-exports/raw/{job}/{scheduled_date}/{job}-{scheduled_time}.txt" && !contains(keys(aws_lambda_function.this[0].environment[0].variables), "EXPORT_HEADER")
    error_message = "The default key follows format and compression."
  }
}

run "rejects_export_bucket_name_instead_of_arn" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "s3://acme-exports", prefix = "orders/" }
  }
  expect_failures = [var.export]
}

run "rejects_export_object_arn" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports/orders", prefix = "orders/" }
  }
  expect_failures = [var.export]
}

run "rejects_export_prefix_with_leading_slash" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "/orders/" }
  }
  expect_failures = [var.export]
}

run "rejects_export_prefix_without_trailing_slash" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders" }
  }
  expect_failures = [var.export]
}

run "rejects_export_placeholder_in_prefix" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/{job}/" }
  }
  expect_failures = [var.export]
}

run "rejects_export_unknown_placeholder" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", key = "{job}/{date}.csv" }
  }
  expect_failures = [var.export]
}

run "rejects_export_key_with_leading_slash" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", key = "/{job}.csv" }
  }
  expect_failures = [var.export]
}

run "rejects_export_unknown_format" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", format = "parquet" }
  }
  expect_failures = [var.export]
}

run "rejects_export_unknown_compression" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", compression = "brotli" }
  }
  expect_failures = [var.export]
}

# Object-typed inputs drop the attributes they do not declare: export is checked key by key so a
# misspelt one fails here instead of silently taking the default.
run "rejects_export_misspelt_key" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", formt = "jsonl" }
  }
  expect_failures = [var.export]
}

run "export_zstd_level_and_threads" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "TABLE app.orders"
    export = {
      bucket_arn        = "arn:aws:s3:::acme-exports"
      prefix            = "raw/"
      compression       = "zstd"
      compression_level = 12
      threads           = 4
    }
  }

  assert {
    condition = {
      for k, v in aws_lambda_function.this[0].environment[0].variables : k => v if startswith(k, "EXPORT_")
      } == {
      EXPORT_S3_URI            = "s3://acme-exports/raw/{job}/{scheduled_date}/{job}-{scheduled_time}.csv.zst"
      EXPORT_FORMAT            = "csv"
      EXPORT_HEADER            = "true"
      EXPORT_COMPRESSION       = "zstd"
      EXPORT_COMPRESSION_LEVEL = "12"
      EXPORT_THREADS           = "4"
      EXPORT_MANIFEST          = "false"
    }
    error_message = "zstd gets a .zst default key; level and threads reach the runner."
  }
}

# The runner's ranges (lambda/functions/src/contract.rs and export/settings.rs): gzip levels 1-9,
# zstd 1-19, threads 1-64.
run "rejects_gzip_level_past_9" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", compression = "gzip", compression_level = 12 }
  }
  expect_failures = [var.export]
}

run "rejects_export_threads_0" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", threads = 0 }
  }
  expect_failures = [var.export]
}

run "rejects_level_without_compression" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", compression = "none", compression_level = 3 }
  }
  expect_failures = [var.export]
}

# IAM matches KMS keys by key ARN, so an alias would leave the multipart upload without
# kms:GenerateDataKey / kms:Decrypt (mpuoverview.html#mpuAndPermissions above).
run "rejects_export_kms_alias" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", kms_key_arn = "alias/exports" }
  }
  expect_failures = [var.export]
}

run "rejects_export_bad_bucket_owner" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/", expected_bucket_owner = "acme" }
  }
  expect_failures = [var.export]
}

run "rejects_export_in_a_transaction" {
  command = plan
  variables {
    sql_file        = null
    sql_source_path = null
    sql             = "SELECT 1"
    transaction     = true
    export          = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/" }
  }
  expect_failures = [var.export]
}

# --- RDS API: DB_CLUSTER_IDENTIFIER / DB_INSTANCE_IDENTIFIER --------------------------------------

# Aurora with an RDS-managed master secret (username/password only; host from the RDS API). The
# secret is encrypted with a KMS key the function may use only through Secrets Manager:
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
run "aurora_cluster_with_managed_secret" {
  command = plan

  variables {
    secret_arn                = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:rds!cluster-0123-AbCdEf"
    secret_kms_key_arn        = "arn:aws:kms:eu-south-1:123456789012:key/11111111-aaaa-bbbb-cccc-222222222222"
    db_cluster_identifier     = "app-aurora"
    when_database_unavailable = "fail"
  }

  assert {
    condition = {
      for k, v in aws_lambda_function.this[0].environment[0].variables : k => v
      if contains(["DB_CLUSTER_IDENTIFIER", "DB_INSTANCE_IDENTIFIER", "DB_ENDPOINT", "WHEN_DATABASE_UNAVAILABLE", "READ_ONLY", "PGHOSTADDR", "PGHOST"], k)
      } == {
      DB_CLUSTER_IDENTIFIER     = "app-aurora"
      WHEN_DATABASE_UNAVAILABLE = "fail"
    }
    error_message = "The cluster identifier replaces PGHOST; READ_ONLY and DB_ENDPOINT are left to the runner's defaults."
  }

  assert {
    condition = { for s in module.permissions[0].statements : s.sid => { actions = toset(s.actions), resources = toset(s.resources) } if length([for a in s.actions : a if startswith(a, "rds:")]) > 0 } == {
      DescribeDatabaseCluster = {
        actions   = toset(["rds:DescribeDBClusters"])
        resources = toset(["arn:aws:rds:eu-south-1:123456789012:cluster:app-aurora"])
      }
      DescribeClusterWriterInstance = {
        actions   = toset(["rds:DescribeDBInstances"])
        resources = toset(["arn:aws:rds:eu-south-1:123456789012:db:*"])
      }
    }
    error_message = "rds:DescribeDBClusters on exactly the named cluster; DescribeDBInstances on this account's instances in the region (the writer after a failover)."
  }

  assert {
    condition = [for s in module.permissions[0].statements : {
      actions = toset(s.actions), resources = toset(s.resources) } if s.sid == "DecryptSecretViaSecretsManager"
      ] == [{
        actions   = toset(["kms:Decrypt"])
        resources = toset(["arn:aws:kms:eu-south-1:123456789012:key/11111111-aaaa-bbbb-cccc-222222222222"])
    }] && [for s in module.permissions[0].statements : [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"] if s.sid == "DecryptSecretViaSecretsManager"] == [["StringEquals kms:ViaService secretsmanager.eu-south-1.amazonaws.com"]]
    error_message = "The managed secret's key may be used for kms:Decrypt through Secrets Manager only."
  }
}

run "rds_instance_read_only" {
  command = plan

  variables {
    db_instance_identifier = "app-db"
    read_only              = true
    database_host_address  = "10.0.1.23"
  }

  assert {
    condition = {
      for k, v in aws_lambda_function.this[0].environment[0].variables : k => v
      if contains(["DB_CLUSTER_IDENTIFIER", "DB_INSTANCE_IDENTIFIER", "DB_ENDPOINT", "WHEN_DATABASE_UNAVAILABLE", "READ_ONLY", "PGHOSTADDR"], k)
      } == {
      DB_INSTANCE_IDENTIFIER = "app-db"
      READ_ONLY              = "true"
      PGHOSTADDR             = "10.0.1.23"
    }
    error_message = "Instance identifier, READ_ONLY and PGHOSTADDR reach the runner."
  }

  assert {
    condition = [for s in module.permissions[0].statements : {
      actions = toset(s.actions), resources = toset(s.resources) } if length([for a in s.actions : a if startswith(a, "rds:")]) > 0
      ] == [{
        actions   = toset(["rds:DescribeDBInstances"])
        resources = toset(["arn:aws:rds:eu-south-1:123456789012:db:app-db"])
    }]
    error_message = "rds:DescribeDBInstances on exactly the named instance, nothing else from RDS."
  }
}

run "aurora_reader_with_iam_auth" {
  command = plan

  variables {
    secret_arn               = null
    auth_mode                = "iam"
    database_user            = "report_job"
    db_cluster_identifier    = "app-aurora"
    db_endpoint              = "reader"
    read_only                = true
    iam_database_resource_id = "cluster-ABCDEFGHIJKLMNOP"
  }

  assert {
    condition     = flatten([for s in module.permissions[0].statements : s.resources if s.sid == "IamDatabaseAuth"]) == ["arn:aws:rds-db:eu-south-1:123456789012:dbuser:cluster-ABCDEFGHIJKLMNOP/report_job"]
    error_message = "rds-db:connect for exactly the job user on the cluster's resource id."
  }

  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["DB_ENDPOINT"] == "reader" && !contains(keys(aws_lambda_function.this[0].environment[0].variables), "PGHOST")
    error_message = "IAM auth with the cluster identifier needs no database_host."
  }
}

run "rejects_cluster_and_instance" {
  command = plan
  variables {
    db_cluster_identifier  = "app-aurora"
    db_instance_identifier = "app-db"
  }
  expect_failures = [var.db_cluster_identifier]
}

# Identifier rules: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html#API_CreateDBCluster_RequestParameters
run "rejects_cluster_endpoint_as_identifier" {
  command = plan
  variables {
    db_cluster_identifier = "app-aurora.cluster-abc.eu-south-1.rds.amazonaws.com"
  }
  expect_failures = [var.db_cluster_identifier]
}

run "rejects_instance_arn_as_identifier" {
  command = plan
  variables {
    db_instance_identifier = "arn:aws:rds:eu-south-1:123456789012:db:app-db"
  }
  expect_failures = [var.db_instance_identifier]
}

run "rejects_reader_endpoint_of_an_instance" {
  command = plan
  variables {
    db_instance_identifier = "app-db"
    db_endpoint            = "reader"
    read_only              = true
  }
  expect_failures = [var.db_endpoint]
}

run "rejects_reader_endpoint_for_a_writing_job" {
  command = plan
  variables {
    db_cluster_identifier = "app-aurora"
    db_endpoint           = "reader"
  }
  expect_failures = [var.db_endpoint]
}

run "rejects_unknown_db_endpoint" {
  command = plan
  variables {
    db_cluster_identifier = "app-aurora"
    db_endpoint           = "primary"
  }
  expect_failures = [var.db_endpoint]
}

run "rejects_when_unavailable_without_identifier" {
  command = plan
  variables {
    when_database_unavailable = "skip"
  }
  expect_failures = [var.when_database_unavailable]
}

run "rejects_unknown_when_unavailable" {
  command = plan
  variables {
    db_instance_identifier    = "app-db"
    when_database_unavailable = "wait"
  }
  expect_failures = [var.when_database_unavailable]
}

# For Aurora, rds-db:connect names the cluster's resource id (cluster-...):
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
run "rejects_instance_resource_id_with_cluster" {
  command = plan
  variables {
    secret_arn               = null
    auth_mode                = "iam"
    database_user            = "report_job"
    db_cluster_identifier    = "app-aurora"
    iam_database_resource_id = "db-ABCDEFGHIJKL"
  }
  expect_failures = [var.iam_database_resource_id]
}

run "rejects_identifier_as_resource_id" {
  command = plan
  variables {
    secret_arn               = null
    auth_mode                = "iam"
    database_user            = "report_job"
    db_instance_identifier   = "app-db"
    iam_database_resource_id = "app-db"
  }
  expect_failures = [var.iam_database_resource_id]
}

run "rejects_secret_kms_alias" {
  command = plan
  variables {
    secret_kms_key_arn = "alias/aws/secretsmanager"
  }
  expect_failures = [var.secret_kms_key_arn]
}

run "rejects_host_name_as_hostaddr" {
  command = plan
  variables {
    database_host_address = "db.example.internal"
  }
  expect_failures = [var.database_host_address]
}

run "rejects_rds_variable_in_environment" {
  command = plan
  variables {
    environment = { EXPORT_S3_URI = "s3://elsewhere/x" }
  }
  expect_failures = [var.environment]
}

run "standalone_export_with_s3_gateway_endpoint" {
  command = plan
  variables {
    sql_file                   = null
    sql_source_path            = null
    sql                        = "SELECT 1"
    export                     = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/" }
    create_s3_gateway_endpoint = true
    s3_gateway_route_table_ids = ["rtb-0aaaaaaaaaaaaaaaa"]
  }
  assert {
    condition     = module.shared[0].s3_gateway_endpoint_id != null
    error_message = "A standalone export job can create its S3 gateway endpoint (in its own shared layer)."
  }
}

run "rejects_per_job_s3_endpoint_in_a_fleet" {
  command = plan
  variables {
    database_security_group_id = null
    shared = {
      security_group_id  = "sg-0f1ee70f1ee70f1ee"
      scheduler_role_arn = "arn:aws:iam::123456789012:role/fleet-sched"
      failure_queue_arn  = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures"
    }
    create_s3_gateway_endpoint = true
    s3_gateway_route_table_ids = ["rtb-0aaaaaaaaaaaaaaaa"]
  }
  expect_failures = [var.create_s3_gateway_endpoint]
}

run "rejects_a_job_name_the_runner_refuses" {
  command = plan
  variables {
    job_name = join("", [for i in range(300) : "j"])
  }
  expect_failures = [var.job_name]
}

# --- Daylight saving time at plan (a warning: check blocks never stop an apply) ----------------
# Scheduler skips a non-existent local time and runs a repeated one once (AWS knowledge center,
# "EventBridge Scheduler and daylight saving time").

run "dst_warns_for_02_30_in_rome" {
  command = plan
  variables {
    schedule_expression = "cron(30 2 * * ? *)"
    schedule_timezone   = "Europe/Rome"
  }
  expect_failures = [check.daylight_saving_time]
}

run "dst_is_quiet_outside_the_changed_hour_and_in_utc" {
  command = plan
  variables {
    schedule_expression = "cron(30 4 * * ? *)"
    schedule_timezone   = "Europe/Rome"
  }
  assert {
    condition     = length(local.dst_hits) == 0 && !local.dst_rate_moves
    error_message = "04:30 in Rome is never skipped or repeated."
  }
}

run "dst_names_the_dates" {
  command = plan
  variables {
    schedule_expression = "cron(30 1 * * ? *)"
    schedule_timezone   = "America/New_York"
  }
  expect_failures = [check.daylight_saving_time]
  assert {
    condition     = length(local.dst_repeated) > 0 && length(local.dst_skipped) == 0 && alltrue([for d in local.dst_repeated : can(regex("^20[23][0-9]-11-0[1-7]$", d))])
    error_message = "01:30 in New York is repeated on the first Sunday of November, never skipped."
  }
}

# A date the job never runs on is no warning: 29 February and 1 July at 02:30 in Rome.
run "dst_is_quiet_on_days_the_job_does_not_run" {
  command = plan
  variables {
    schedule_expression = "cron(30 2 29,1 FEB,JUL ? *)"
    schedule_timezone   = "Europe/Rome"
  }
  assert {
    condition     = length(local.dst_hits) == 0
    error_message = "No clock change falls on 29 February or 1 July."
  }
}

run "dst_warns_on_the_last_sunday_of_march_when_the_job_runs_then" {
  command = plan
  variables {
    schedule_expression = "cron(30 2 28 MAR ? *)"
    schedule_timezone   = "Europe/Rome"
  }
  assert {
    condition     = length(local.dst_hits) > 0 && alltrue([for t in local.dst_hits : substr(t[0], 5, 5) == "03-28"])
    error_message = "28 March is a clock change in Rome in 2027 (dst.tf's years): the warning names it and only it."
  }
  expect_failures = [check.daylight_saving_time]
}

run "dst_warns_that_a_daily_rate_moves" {
  command = plan
  variables {
    schedule_expression = "rate(1 day)"
    schedule_timezone   = "Europe/Rome"
  }
  expect_failures = [check.daylight_saving_time]
}

# The largest policies a job can have (every optional statement, the longest names and ARNs)
# against IAM's quotas: 10,240 characters for a role's inline policies together, 6,144 for a
# managed policy (the bound used: it leaves room for role_inline_policy), whitespace not counted:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
# The policy JSON is mocked here, so the statement blocks are measured: as JSON they carry every
# attribute name (null ones included) and conditions as lists of objects, more characters than
# the policy document they render to, so this is an upper bound.
run "the_largest_job_policies_fit_iam_quotas" {
  command = plan

  variables {
    name                     = "a-job-name-of-sixty-four-characters-which-is-lambdas-limit-xxxxx"
    secret_arn               = "arn:aws:secretsmanager:ap-southeast-4:123456789012:secret:a-long-secret-name-for-the-application-database-credentials-AbCdEf"
    secret_kms_key_arn       = "arn:aws:kms:ap-southeast-4:123456789012:key/11111111-2222-3333-4444-555555555555"
    auth_mode                = "iam"
    database_user            = "a_long_database_user_name_of_the_job"
    iam_database_resource_id = "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    db_cluster_identifier    = "a-cluster-identifier-of-sixty-three-characters-which-is-the-max"
    export = {
      bucket_arn  = "arn:aws:s3:::a-bucket-name-of-sixty-three-characters-which-is-the-s3-limit-x"
      prefix      = "exports/a-long-prefix/for-the-orders-of-the-application/"
      kms_key_arn = "arn:aws:kms:ap-southeast-4:123456789012:key/66666666-7777-8888-9999-000000000000"
      format      = "jsonl"
    }
    rotation = {
      strategy                  = "alternating-users"
      master_secret_arn         = "arn:aws:secretsmanager:ap-southeast-4:123456789012:secret:rds!cluster-0123456789abcdef0123456789abcdef-AbCdEf"
      master_secret_kms_key_arn = "arn:aws:kms:ap-southeast-4:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    }
  }

  assert {
    condition     = length(module.permissions[0].statements) >= 10 && length(jsonencode(module.permissions[0].statements)) < 6144
    error_message = "The job's policy (${length(module.permissions[0].statements)} statements) is at most ${length(jsonencode(module.permissions[0].statements))} characters; the managed-policy quota is 6,144."
  }
  assert {
    condition     = length(data.aws_iam_policy_document.rotation[0].statement) >= 7 && length(jsonencode(data.aws_iam_policy_document.rotation[0].statement)) < 6144
    error_message = "The rotation function's policy is at most ${length(jsonencode(data.aws_iam_policy_document.rotation[0].statement))} characters; the managed-policy quota is 6,144."
  }
}

# The package from S3 (a CI pipeline's artifact) instead of a local zip: Lambda copies the object;
# the function also detaches its security group before it is deleted (faster VPC destroys).
run "package_from_s3" {
  command = plan
  variables {
    package_path              = null
    package_s3_bucket         = "acme-artifacts"
    package_s3_key            = "pg-cron-job/0.3.0/pg-cron-job.zip"
    package_s3_object_version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    package_listing_path      = "tests/fixtures/package.zip.files.json" # the uploaded zip's listing
  }
  assert {
    condition = (aws_lambda_function.this[0].filename == null && aws_lambda_function.this[0].s3_bucket == "acme-artifacts" &&
    aws_lambda_function.this[0].s3_key == "pg-cron-job/0.3.0/pg-cron-job.zip" && aws_lambda_function.this[0].s3_object_version == "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
    error_message = "The function's code comes from the S3 object (no local file)."
  }
  assert {
    condition     = aws_lambda_function.this[0].replace_security_groups_on_destroy == true
    error_message = "A VPC function detaches its security group before it is deleted."
  }
}

run "rejects_two_packages" {
  command = plan
  variables {
    package_s3_bucket = "acme-artifacts"
    package_s3_key    = "pg-cron-job/0.3.0/pg-cron-job.zip"
  }
  expect_failures = [var.package_path]
}

run "rejects_a_bucket_without_a_key" {
  command = plan
  variables {
    package_path         = null
    package_s3_bucket    = "acme-artifacts"
    package_listing_path = "tests/fixtures/package.zip.files.json"
  }
  expect_failures = [var.package_s3_key]
}

# A job on its own with the Secrets Manager endpoint and neither NAT egress nor the S3 gateway
# endpoint cannot reach S3: the export fails the plan (with the fix) instead of every run.
run "rejects_an_export_its_network_cannot_reach" {
  command = plan
  variables {
    sql_file                       = null
    sql_source_path                = null
    sql                            = "TABLE app.orders"
    create_secretsmanager_endpoint = true
    export                         = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "orders/" }
  }
  expect_failures = [aws_lambda_function.this]
}

# --- at() inside a daylight-saving gap ------------------------------------------------------------
# EventBridge Scheduler skips a local time that does not exist (clocks forward): a one-time job
# there never runs. The plan refuses it from dst.tf's table (AWS knowledge center, "EventBridge
# Scheduler and daylight saving time"); the message is checked by
# modules/pg_cron_jobs/tests/must_fail/at_in_a_dst_gap.tftest.hcl.
run "rejects_at_in_the_rome_spring_gap" {
  command = plan
  variables {
    schedule_expression = "at(2027-03-28T02:30:00)"
    schedule_timezone   = "Europe/Rome"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_at_in_the_new_york_spring_gap" {
  command = plan
  variables {
    schedule_expression = "at(2027-03-14T02:00:00)"
    schedule_timezone   = "America/New_York"
  }
  expect_failures = [var.schedule_expression]
}

run "accepts_at_at_the_end_of_the_gap" {
  command = plan
  variables {
    schedule_expression = "at(2027-03-28T03:00:00)"
    schedule_timezone   = "Europe/Rome"
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].schedule_expression == "at(2027-03-28T03:00:00)"
    error_message = "03:00 exists on the night the clocks go forward in Rome."
  }
}

run "accepts_at_just_before_the_gap_and_in_the_repeated_hour" {
  command = plan
  variables {
    schedule_expression = "at(2027-10-31T02:30:00)"
    schedule_timezone   = "Europe/Rome"
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].schedule_expression == "at(2027-10-31T02:30:00)"
    error_message = "A repeated local time (clocks back) happens: Scheduler runs it once."
  }
}

run "accepts_the_same_local_time_in_utc" {
  command = plan
  variables {
    schedule_expression = "at(2027-03-28T02:30:00)"
    schedule_timezone   = "UTC"
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].schedule_expression_timezone == "UTC"
    error_message = "UTC has no gap."
  }
}
