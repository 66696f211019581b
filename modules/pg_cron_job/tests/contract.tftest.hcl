# The runner's environment contract (lambda/functions/src/contract.rs) at plan: every value the
# runner would refuse at every run fails `terraform plan` instead (the contract's own test checks
# that these validations carry its ranges; these runs check that they fail).
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

# above PostgreSQL's int milliseconds: the runner refuses it at every run
run "contract_rejects_statement_timeout_ms_0" {
  command = plan
  variables {
    statement_timeout_ms = 3000000000
  }
  expect_failures = [var.statement_timeout_ms]
}

# 0 would mean "no limit" to PostgreSQL; the runner refuses it
run "contract_rejects_statement_timeout_ms_1" {
  command = plan
  variables {
    statement_timeout_ms = 0
  }
  expect_failures = [var.statement_timeout_ms]
}

# above PostgreSQL's int milliseconds
run "contract_rejects_lock_timeout_ms_2" {
  command = plan
  variables {
    lock_timeout_ms = 2147483648
  }
  expect_failures = [var.lock_timeout_ms]
}

# a fraction: the runner reads whole milliseconds
run "contract_rejects_max_runtime_ms_3" {
  command = plan
  variables {
    max_runtime_ms = 1500.5
  }
  expect_failures = [var.max_runtime_ms]
}

# longer chains than the runner allows
run "contract_rejects_max_continuations_4" {
  command = plan
  variables {
    max_continuations = 1001
  }
  expect_failures = [var.max_continuations]
}

# beyond PostgreSQL's timestamp range
run "contract_rejects_history_retention_days_5" {
  command = plan
  variables {
    history_retention_days = 36501
  }
  expect_failures = [var.history_retention_days]
}

# negative
run "contract_rejects_history_retention_days_6" {
  command = plan
  variables {
    history_retention_days = -1
  }
  expect_failures = [var.history_retention_days]
}

run "contract_accepts_the_limits" {
  command = plan
  variables {
    statement_timeout_ms   = 2147483647
    lock_timeout_ms        = 1
    max_runtime_ms         = 2147483647
    history_table          = "cron_jobs.job_run_details"
    history_retention_days = 36500
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["STATEMENT_TIMEOUT_MS"] == "2147483647" && aws_lambda_function.this[0].environment[0].variables["HISTORY_RETENTION_DAYS"] == "36500"
    error_message = "The limits themselves are valid values."
  }
}

# SNS e-mail subscriptions need addresses; "dba@" fails Subscribe at apply.
# https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
run "rejects_a_malformed_alarm_email" {
  command = plan
  variables {
    alarm_emails = ["dba@example.com", "dba@"]
  }
  expect_failures = [var.alarm_emails]
}

# 0 keeps the function's logs forever (CloudWatch Logs' "never expire").
run "accepts_log_retention_zero" {
  command = plan
  variables {
    log_retention_days = 0
  }
  assert {
    condition     = aws_cloudwatch_log_group.this[0].retention_in_days == 0
    error_message = "log_retention_days = 0 means never expire."
  }
}
