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
  # The fleet's watchdog judges this job's starts: a fleet's shared layer says so (`watchdog`,
  # known at plan); a job on its own always gets its own watchdog. (Not through local.shared:
  # the job's own layer's outputs are unknown until apply, and count must be known at plan.)
  watched = var.shared != null ? try(var.shared.watchdog, false) == true : true
}

# One page per failed run: the function returns a failed run to Lambda as an error, so Errors
# counts failed runs, crashes and timeouts. (The failures queue has its own alarm in the shared
# layer: undelivered schedules and failed asynchronous runs.)
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
  tags                = merge(var.tags, var.alarm_tags)
}

# "Did not run", for every schedule: the fleet's watchdog writes Late = 1 for this job (dimension
# Job) while an expected start has no run past its allowance (60 s + the flexible window +
# grace_minutes + the function's timeout), or while a declared job's schedule is missing, and
# Late = 0 otherwise (new, up, paused, ended), once per check.
# 1 datapoint out of 3 periods (M of N): the first check with Late = 1 pages (a check's
# datapoint may land in the next period: one breaching datapoint in the range is enough), and
# the alarm is OK again once the 3 periods hold no Late = 1 (within 15 minutes after the run
# started). treat_missing_data = "missing": a period without a datapoint is not evaluated, and
# when the whole 15-minute range has none (the watchdog stopped writing for this job) the alarm
# goes INSUFFICIENT_DATA instead of keeping its last state forever ("ignore" did). That state
# sends nothing: the watchdog's not-running alarm pages when it stops, its unjudged alarm when it
# cannot judge some jobs.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation
resource "aws_cloudwatch_metric_alarm" "late" {
  count               = local.create && local.watched ? 1 : 0
  alarm_name          = "${var.name}-late"
  alarm_description   = "pg_cron_job ${local.job_name}: an expected start of ${var.schedule_expression} (${var.schedule_timezone}) has no run (the schedule did not fire, the event expired, the run could not start); clears when the next run starts. Invoke the fleet's watchdog for the details."
  namespace           = "PgCronJob"
  metric_name         = "Late"
  dimensions          = { Job = local.job_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  tags                = merge(var.tags, var.alarm_tags)
}
