# The fleet's alarms, dashboard and subscriptions output, planned with a mocked provider.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "fleet"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
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
    && length(aws_cloudwatch_metric_alarm.watchdog_not_running[0].alarm_actions) == 1)
    error_message = "INSUFFICIENT_DATA pages like ALARM."
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.watchdog_errors[0].alarm_name == "fleet-watchdog-errors" && aws_cloudwatch_metric_alarm.watchdog_errors[0].threshold == 1
      && aws_cloudwatch_metric_alarm.watchdog_errors[0].comparison_operator == "GreaterThanOrEqualToThreshold"
    && aws_cloudwatch_metric_alarm.watchdog_errors[0].treat_missing_data == "notBreaching")
    error_message = "Watchdog errors: >= 1, no data is no error."
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.failures_queue[0].alarm_name == "fleet-failures-queue" && aws_cloudwatch_metric_alarm.failures_queue[0].statistic == "Sum"
      && aws_cloudwatch_metric_alarm.failures_queue[0].period == 300 && aws_cloudwatch_metric_alarm.failures_queue[0].treat_missing_data == "notBreaching"
    && aws_cloudwatch_metric_alarm.failures_queue[0].dimensions == tomap({ QueueName = "fleet-failures" }))
    error_message = "Failures queue: Sum of messages sent over 5 minutes, > 0, on the fleet's queue."
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
      && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "NumberOfMessagesSent")
    && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "fleet-watchdog"))
    error_message = "The dashboard shows the failures queue and the watchdog."
  }
  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 9
    error_message = "Seven per-job widgets, one for the queue and the watchdog, one with the watchdog's fleet counts."
  }
  # The watchdog's fleet line (EMF, namespace PgCronJob, dimension Fleet = the fleet's name).
  assert {
    condition = toset([for m in one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.metrics if strcontains(w.properties.title, "jobs judged")]) : "${m[0]}/${m[1]}/${m[2]}=${m[3]}"]) == toset([
      "PgCronJob/JudgedJobs/Fleet=fleet", "PgCronJob/UnjudgedJobs/Fleet=fleet", "PgCronJob/LateJobs/Fleet=fleet", "PgCronJob/MissingJobs/Fleet=fleet", "PgCronJob/DriftJobs/Fleet=fleet",
    ])
    error_message = "The dashboard shows the fleet's counts: judged, unjudged, late, missing and drifting jobs (dimension Fleet; the watchdog's FLEET_METRICS)."
  }
}

# Jobs the watchdog could not judge (counted per check in UnjudgedJobs, dimension Fleet): every
# datapoint of 3 periods at least 1 pages; no data (no check) is the not-running alarm's case.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
run "unjudged_jobs_page_after_15_minutes" {
  command = plan
  assert {
    condition = (aws_cloudwatch_metric_alarm.watchdog_unjudged[0].alarm_name == "fleet-watchdog-unjudged"
      && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].namespace == "PgCronJob" && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].metric_name == "UnjudgedJobs"
      && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].dimensions == tomap({ Fleet = "fleet" }) && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].statistic == "Maximum"
      && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].period == 300 && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].evaluation_periods == 3
      && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].datapoints_to_alarm == 3 && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].threshold == 1
      && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].comparison_operator == "GreaterThanOrEqualToThreshold"
    && aws_cloudwatch_metric_alarm.watchdog_unjudged[0].treat_missing_data == "notBreaching")
    error_message = "Unjudged: PgCronJob UnjudgedJobs {Fleet}, Maximum, 3 of 3 five-minute periods >= 1, no data is not breaching."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.watchdog_unjudged[0].alarm_actions) == 1 && try(length(aws_cloudwatch_metric_alarm.watchdog_unjudged[0].ok_actions), 0) == 0 && strcontains(aws_cloudwatch_metric_alarm.watchdog_unjudged[0].alarm_description, "jobs not judged")
    error_message = "It pages through the topic (no ok_actions) and says where the jobs are named."
  }
  assert {
    condition     = contains(output.alarm_names, "fleet-watchdog-unjudged") && length(output.alarm_names) == 4
    error_message = "alarm_names lists it with the watchdog's other alarms and the failures queue's."
  }
}

run "unjudged_period_follows_an_hourly_watchdog" {
  command = plan
  variables {
    watchdog_schedule_expression = "rate(60 minutes)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.watchdog_unjudged[0].period == 3600
    error_message = "An hourly watchdog: 3 periods of an hour."
  }
}

run "no_unjudged_alarm_or_counts_without_a_watchdog" {
  command = plan
  variables {
    create_watchdog = false
    package_path    = null
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.watchdog_unjudged) == 0 && length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 8
    error_message = "Without the watchdog: no unjudged alarm, no fleet-counts widget."
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

# Quiet notifications: no alarm has ok_actions (a new alarm goes INSUFFICIENT_DATA -> OK, which
# sent one OK message per alarm on a first deploy); ALARM -> OK of the fleet's alarms reaches the
# topic through one EventBridge rule on CloudWatch's alarm state change events:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
run "recoveries_notify_through_one_rule" {
  command = plan

  assert {
    condition = alltrue([for a in [aws_cloudwatch_metric_alarm.watchdog_errors[0], aws_cloudwatch_metric_alarm.watchdog_not_running[0], aws_cloudwatch_metric_alarm.failures_queue[0]] :
    try(length(a.ok_actions), 0) == 0 && length(a.alarm_actions) == 1])
    error_message = "The fleet's alarms page (alarm_actions) and send nothing on OK (no ok_actions)."
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.recoveries[0].event_pattern) == {
      source        = ["aws.cloudwatch"]
      "detail-type" = ["CloudWatch Alarm State Change"]
      resources     = [{ "anything-but" = ["arn:aws:cloudwatch:eu-south-1:123456789012:alarm:fleet-failures-queue"] }]
      detail = {
        alarmName     = [{ prefix = "fleet-" }]
        previousState = { value = ["ALARM"] }
        state         = { value = ["OK"] }
      }
    }
    error_message = "One rule: the fleet's alarms (\"fleet-...\") from ALARM to OK, not the failures-queue alarm."
  }
  assert {
    condition = (length(aws_cloudwatch_event_rule.recoveries) == 1 && aws_cloudwatch_event_rule.recoveries[0].name == "fleet-recovered"
      && aws_cloudwatch_event_target.recoveries[0].arn == aws_sns_topic.alarms[0].arn
    && aws_cloudwatch_event_target.recoveries[0].rule == aws_cloudwatch_event_rule.recoveries[0].name)
    error_message = "The rule's target is the fleet's alarm topic."
  }
  # An input template that is a quoted string is delivered as text:
  # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
  assert {
    condition = (aws_cloudwatch_event_target.recoveries[0].input_transformer[0].input_paths == tomap({ alarm = "$.detail.alarmName", time = "$.time", reason = "$.detail.state.reason" })
    && aws_cloudwatch_event_target.recoveries[0].input_transformer[0].input_template == "\"<alarm> back to OK at <time>: <reason>\"")
    error_message = "One readable line: the alarm, back to OK, when, why."
  }
}

# EventBridge may publish to the topic only if the topic policy allows events.amazonaws.com (this
# rule only) and, for an encrypted topic, the key policy lets it use the key; CloudWatch keeps
# its own grant (a topic policy replaces SNS's default one):
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
run "eventbridge_may_publish_to_the_encrypted_topic" {
  command = plan

  override_resource {
    target          = aws_cloudwatch_event_rule.recoveries
    override_during = plan
    values          = { arn = "arn:aws:events:eu-south-1:123456789012:rule/fleet-recovered" }
  }

  assert {
    condition = length([for s in data.aws_iam_policy_document.alarm_topic[0].statement : s if anytrue([
      for p in s.principals : p.type == "Service" && p.identifiers == toset(["events.amazonaws.com"])]) && s.actions == toset(["sns:Publish"]) && anytrue([
      for c in s.condition : c.test == "ArnEquals" && c.variable == "aws:SourceArn" && c.values == tolist(["arn:aws:events:eu-south-1:123456789012:rule/fleet-recovered"])
    ])]) == 1
    error_message = "The topic policy lets events.amazonaws.com publish, for the recoveries rule only (aws:SourceArn)."
  }
  assert {
    condition = length([for s in data.aws_iam_policy_document.alarm_topic[0].statement : s if anytrue([
    for p in s.principals : p.type == "Service" && contains(p.identifiers, "cloudwatch.amazonaws.com")]) && contains(s.actions, "sns:Publish")]) == 1
    error_message = "The topic policy keeps CloudWatch alarms' permission to publish."
  }
  assert {
    condition     = aws_sns_topic_policy.alarms[0].arn == aws_sns_topic.alarms[0].arn
    error_message = "The policy is on the created topic."
  }
  assert {
    condition = length([for s in data.aws_iam_policy_document.kms[0].statement : s if anytrue([
      for p in s.principals : p.type == "Service" && contains(p.identifiers, "events.amazonaws.com")
    ]) && contains(s.actions, "kms:Decrypt") && contains(s.actions, "kms:GenerateDataKey*")]) == 1
    error_message = "The key policy lets events.amazonaws.com use the topic's key (kms:Decrypt, kms:GenerateDataKey*)."
  }
}

# A topic of your own: the rule still targets it (its policy must allow the rule: README), the
# module writes no policy on a topic it does not own.
run "recoveries_to_a_given_topic" {
  command = plan
  variables {
    create_alarm_topic = false
    alarm_topic_arn    = "arn:aws:sns:eu-south-1:123456789012:oncall"
  }
  assert {
    condition     = aws_cloudwatch_event_target.recoveries[0].arn == "arn:aws:sns:eu-south-1:123456789012:oncall" && length(aws_sns_topic_policy.alarms) == 0
    error_message = "The rule targets the given topic; no policy is written on it."
  }
  assert {
    condition = length([for s in data.aws_iam_policy_document.kms[0].statement : s if anytrue([
    for p in s.principals : contains(p.identifiers, "events.amazonaws.com")])]) == 0
    error_message = "The created key encrypts no topic then: no EventBridge statement."
  }
}

run "no_topic_no_recoveries" {
  command = plan
  variables {
    create_alarm_topic = false
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.recoveries) == 0 && length(aws_cloudwatch_event_target.recoveries) == 0
    error_message = "Without a topic there is nothing to notify."
  }
}

run "a_long_fleet_name_keeps_the_watchdog_alarms_in_the_rule" {
  command = plan
  variables {
    name = "a-very-long-fleet-name-for-the-nightly-purges-of-events-012345"
  }
  assert {
    condition = (length(aws_cloudwatch_event_rule.recoveries[0].name) <= 64
      && toset(jsondecode(aws_cloudwatch_event_rule.recoveries[0].event_pattern).detail.alarmName) == toset([
        { prefix = "a-very-long-fleet-name-for-the-nightly-purges-of-events-012345-" },
        { prefix = "${aws_lambda_function.watchdog[0].function_name}-" },
    ]))
    error_message = "A shortened watchdog name is matched by its own prefix; the rule name fits 64 characters."
  }
}
