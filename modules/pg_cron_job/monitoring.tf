resource "aws_cloudwatch_log_group" "this" {
  count             = local.create ? 1 : 0
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = merge(var.tags, var.log_group_tags)

  # checkov:skip=CKV_AWS_158:log_kms_key_arn sets a customer key; logs hold no credentials (the runner redacts them).
  # checkov:skip=CKV_AWS_338:Retention is the consumer's choice (log_retention_days, default 30 days).
}

locals {
  alarm_topic_arn = try(local.shared.alarm_topic_arn, null)
  alarm_actions   = local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]

  # How often the job should succeed, derived from the schedule when not given: rate(n unit),
  # and cron() that runs every n minutes, every n hours, daily or weekly on one day; monthly and
  # at() schedules get no "not succeeded" alarm unless expected_interval_seconds says otherwise.
  rate = try(regex("^rate\\(([0-9]+) (minute|hour|day)s?\\)$", var.schedule_expression), null)
  cron = try(split(" ", regex("^cron\\((.*)\\)$", var.schedule_expression)[0]), null)
  # Fixed minute and hour, every month and year, every day of the month.
  cron_fixed_time = try(can(regex("^[0-9]+$", local.cron[0])) && can(regex("^[0-9]+$", local.cron[1])) && local.cron[3] == "*" && local.cron[5] == "*", false)
  cron_every_day  = try(contains(["*", "?"], local.cron[2]) && local.cron[3] == "*" && contains(["*", "?"], local.cron[4]) && local.cron[5] == "*", false)
  cron_interval = (
    local.cron_fixed_time && local.cron_every_day ? 86400 :
    local.cron_fixed_time && try(local.cron[2] == "?" && can(regex("^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)$", upper(local.cron[4]))), false) ? 604800 :
    !local.cron_every_day ? null :
    can(regex("^[0-9]+$", local.cron[0])) && local.cron[1] == "*" ? 3600 :
    can(regex("^[0-9]+$", local.cron[0])) && can(regex("^(\\*|0)/[0-9]+$", local.cron[1])) ? 3600 * tonumber(split("/", local.cron[1])[1]) :
    can(regex("^(\\*|0)/[0-9]+$", local.cron[0])) && local.cron[1] == "*" ? 60 * tonumber(split("/", local.cron[0])[1]) :
    null
  )
  derived_interval = local.rate != null ? tonumber(local.rate[0]) * { minute = 60, hour = 3600, day = 86400 }[local.rate[1]] : local.cron_interval
  expected_interval = (
    var.expected_interval_seconds != null ? (var.expected_interval_seconds == 0 ? null : var.expected_interval_seconds) :
    local.derived_interval != null ? (local.derived_interval <= 604800 ? local.derived_interval : null) : null
  )
  # CloudWatch periods are multiples of 60 s; period x evaluation periods may not exceed 7 days,
  # or 1 day for periods under an hour:
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
  # Short intervals get two periods, so a run that ends just past a period boundary does not page.
  not_succeeded_period      = local.expected_interval == null ? null : ceil(local.expected_interval / 60) * 60
  not_succeeded_evaluations = local.expected_interval == null ? null : (local.not_succeeded_period < 3600 ? 2 : 1)
}

# One page per failed run: the function returns a failed run to Lambda as an error, so Errors
# counts failed runs, crashes and timeouts. (The failures queue is not alarmed on: its records
# are the same failures, or deliveries that never started, which the alarm below catches.)
resource "aws_cloudwatch_metric_alarm" "failed" {
  count               = local.create ? 1 : 0
  alarm_name          = "${var.name}-failed"
  alarm_description   = "pg_cron_job ${local.job_name}: a run failed (see the function's logs; records in the failures queue)"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[0].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = merge(var.tags, var.alarm_tags)
}

# Successful runs of this job, as a metric with the job's dimension (the runner's JSON log line
# "job finished" carries job and status). Dimensions and a default value are mutually exclusive:
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricTransformation.html
resource "aws_cloudwatch_log_metric_filter" "succeeded" {
  count          = local.create ? 1 : 0
  name           = "${var.name}-succeeded"
  log_group_name = aws_cloudwatch_log_group.this[0].name
  pattern        = "{ $.message = \"job finished\" && $.status = \"succeeded\" }"

  metric_transformation {
    name       = "SucceededRuns"
    namespace  = "PgCronJob"
    value      = "1"
    unit       = "Count"
    dimensions = { Job = "$.job" }
  }
}

# "Did not run": no successful run and no failed run within the expected interval (the schedule
# did not fire, the event expired, every run was skipped behind a stuck one...). A failed run
# already paged through the failed alarm, so it counts as a run here: one page per failure.
resource "aws_cloudwatch_metric_alarm" "not_succeeded" {
  count               = local.create && local.expected_interval != null ? 1 : 0
  alarm_name          = "${var.name}-not-succeeded"
  alarm_description   = "pg_cron_job ${local.job_name}: no run finished within ${local.expected_interval} s (schedule disabled or undelivered, runs skipped or expired); clears on the next success"
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  evaluation_periods  = local.not_succeeded_evaluations
  datapoints_to_alarm = local.not_succeeded_evaluations
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = merge(var.tags, var.alarm_tags)

  metric_query {
    id = "succeeded"
    metric {
      namespace   = "PgCronJob"
      metric_name = "SucceededRuns"
      dimensions  = { Job = local.job_name }
      period      = local.not_succeeded_period
      stat        = "Sum"
    }
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.this[0].function_name }
      period      = local.not_succeeded_period
      stat        = "Sum"
    }
  }

  metric_query {
    id          = "finished"
    expression  = "FILL(succeeded, 0) + FILL(errors, 0)"
    label       = "Runs that finished (succeeded or failed)"
    return_data = true
  }

  depends_on = [aws_cloudwatch_log_metric_filter.succeeded]
}
