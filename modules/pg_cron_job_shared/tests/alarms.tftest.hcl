# The fleet's alarms, dashboard and subscriptions output, planned with a mocked provider.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "fleet"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-aaaa", "subnet-bbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  function_names             = ["fleet-purge"]
  alarm_emails               = ["dba@example.com", "oncall@example.com"]
  package_path               = "tests/fixtures/package.zip"
}

# A new alarm starts in INSUFFICIENT_DATA; with treat_missing_data = "missing" a watchdog that
# stopped leaves every datapoint missing, which is INSUFFICIENT_DATA again: the page.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
run "watchdog_not_running_settings" {
  command = plan
  assert {
    condition = (aws_cloudwatch_metric_alarm.watchdog_not_running[0].alarm_name == "fleet-watchdog-not-running"
      && aws_cloudwatch_metric_alarm.watchdog_not_running[0].namespace == "AWS/Lambda" && aws_cloudwatch_metric_alarm.watchdog_not_running[0].statistic == "Sum"
      && aws_cloudwatch_metric_alarm.watchdog_not_running[0].period == 300 && aws_cloudwatch_metric_alarm.watchdog_not_running[0].threshold == 1
      && aws_cloudwatch_metric_alarm.watchdog_not_running[0].comparison_operator == "LessThanThreshold"
    && aws_cloudwatch_metric_alarm.watchdog_not_running[0].dimensions == tomap({ FunctionName = "fleet-watchdog" }))
    error_message = "Not running: the watchdog's Invocations, Sum over 5 minutes, 3 periods, below 1."
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.watchdog_not_running[0].alarm_actions == aws_cloudwatch_metric_alarm.watchdog_not_running[0].insufficient_data_actions
      && aws_cloudwatch_metric_alarm.watchdog_not_running[0].ok_actions == aws_cloudwatch_metric_alarm.watchdog_not_running[0].alarm_actions
    && length(aws_cloudwatch_metric_alarm.watchdog_not_running[0].alarm_actions) == 1)
    error_message = "INSUFFICIENT_DATA pages like ALARM; OK clears."
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.watchdog_errors[0].alarm_name == "fleet-watchdog-errors" && aws_cloudwatch_metric_alarm.watchdog_errors[0].threshold == 1
      && aws_cloudwatch_metric_alarm.watchdog_errors[0].comparison_operator == "GreaterThanOrEqualToThreshold"
    && aws_cloudwatch_metric_alarm.watchdog_errors[0].treat_missing_data == "notBreaching")
    error_message = "Watchdog errors: >= 1, no data is no error."
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.failures_queue[0].alarm_name == "fleet-failures-queue" && aws_cloudwatch_metric_alarm.failures_queue[0].statistic == "Maximum"
      && aws_cloudwatch_metric_alarm.failures_queue[0].period == 300 && aws_cloudwatch_metric_alarm.failures_queue[0].treat_missing_data == "notBreaching"
    && aws_cloudwatch_metric_alarm.failures_queue[0].dimensions == tomap({ QueueName = "fleet-failures" }))
    error_message = "Failures queue: Maximum of visible messages over 5 minutes, > 0, on the fleet's queue."
  }
  assert {
    condition     = output.watchdog_function_name == "fleet-watchdog" && aws_scheduler_schedule.watchdog[0].name == "fleet-watchdog" && aws_cloudwatch_log_group.watchdog[0].name == "/aws/lambda/fleet-watchdog"
    error_message = "The watchdog's function, schedule and log group are named <name>-watchdog."
  }
}

run "a_minute_watchdog" {
  command = plan
  variables {
    watchdog_schedule_expression = "rate(1 minute)"
  }
  assert {
    condition     = aws_lambda_function.watchdog[0].environment[0].variables["WATCH_PERIOD_SECONDS"] == "60" && aws_cloudwatch_metric_alarm.watchdog_not_running[0].period == 300
    error_message = "rate(1 minute): a 60 s period; not running still means 15 minutes without an invocation."
  }
}

run "an_hourly_watchdog" {
  command = plan
  variables {
    watchdog_schedule_expression = "rate(60 minutes)"
  }
  assert {
    condition     = aws_lambda_function.watchdog[0].environment[0].variables["WATCH_PERIOD_SECONDS"] == "3600" && aws_cloudwatch_metric_alarm.watchdog_not_running[0].period == 3600
    error_message = "rate(60 minutes): a 3600 s period; not running means 3 periods without an invocation."
  }
}

# Scheduler: a rate of 1 takes the singular unit, more the plural:
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#rate-based
run "rejects_a_plural_unit_for_one_minute" {
  command = plan
  variables {
    watchdog_schedule_expression = "rate(1 minutes)"
  }
  expect_failures = [var.watchdog_schedule_expression]
}

run "rejects_a_cron_watchdog" {
  command = plan
  variables {
    watchdog_schedule_expression = "cron(*/5 * * * ? *)"
  }
  expect_failures = [var.watchdog_schedule_expression]
}

run "dashboard_widgets" {
  command = plan
  assert {
    condition = alltrue([for m in ["Succeeded", "Failed", "Skipped", "Partial", "DurationMs", "Late", "LateSeconds"] :
    strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "MetricName=\\\"${m}\\\"")])
    error_message = "The dashboard shows every job's runs by status, duration and lateness (SEARCH, no job list)."
  }
  assert {
    condition = (aws_cloudwatch_dashboard.this[0].dashboard_name == "fleet"
      && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "ApproximateNumberOfMessagesVisible")
    && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "fleet-watchdog"))
    error_message = "The dashboard shows the failures queue and the watchdog."
  }
  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 8
    error_message = "Seven per-job widgets and one for the queue and the watchdog."
  }
}

run "no_dashboard_when_turned_off" {
  command = plan
  variables {
    create_dashboard = false
  }
  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && output.dashboard_name == null
    error_message = "create_dashboard = false creates no dashboard."
  }
}

run "pending_subscriptions_are_shown_and_warned_about" {
  command = plan
  override_resource {
    target          = aws_sns_topic_subscription.email["oncall@example.com"]
    override_during = plan
    values          = { pending_confirmation = true }
  }
  override_resource {
    target          = aws_sns_topic_subscription.email["dba@example.com"]
    override_during = plan
    values          = { pending_confirmation = false }
  }
  assert {
    condition     = output.pending_alarm_subscriptions == tolist(["oncall@example.com"])
    error_message = "The output lists the unconfirmed addresses only."
  }
  expect_failures = [check.alarm_subscriptions_confirmed]
}

run "confirmed_subscriptions_are_quiet" {
  command = plan
  override_resource {
    target          = aws_sns_topic_subscription.email
    override_during = plan
    values          = { pending_confirmation = false }
  }
  assert {
    condition     = length(output.pending_alarm_subscriptions) == 0
    error_message = "No pending subscription, nothing listed."
  }
}
