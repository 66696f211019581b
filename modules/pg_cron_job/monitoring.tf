resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags

  # checkov:skip=CKV_AWS_158:log_kms_key_arn sets a customer key; logs hold no credentials (the runner redacts them).
  # checkov:skip=CKV_AWS_338:Retention is the consumer's choice (log_retention_days, default 30 days).
}

resource "aws_sns_topic" "alarms" {
  count             = var.create_alarm_topic ? 1 : 0
  name              = "${var.name}-alarms"
  kms_master_key_id = coalesce(var.log_kms_key_arn, "alias/aws/sns")
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = var.create_alarm_topic ? toset(var.alarm_emails) : toset([])
  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  alarm_topic_arn = var.create_alarm_topic ? aws_sns_topic.alarms[0].arn : var.alarm_topic_arn
  alarm_actions   = local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-failed"
  alarm_description   = "pg_cron_job ${local.job_name}: a run failed (see the function's logs and the ${aws_sqs_queue.failures.name} queue)"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${var.name}-throttled"
  alarm_description   = "pg_cron_job ${local.job_name}: an invocation was throttled (reserved concurrency reached)"
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name}-undelivered"
  alarm_description   = "pg_cron_job ${local.job_name}: a run could not be delivered or failed asynchronously (messages in ${aws_sqs_queue.failures.name})"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}

# Skipped runs (overlap, duplicate event) are not errors, but a job that keeps skipping is stuck.
resource "aws_cloudwatch_log_metric_filter" "skipped" {
  name           = "${var.name}-skipped"
  log_group_name = aws_cloudwatch_log_group.this.name
  pattern        = "{ $.message = \"job finished\" && $.status = \"skipped\" }"

  metric_transformation {
    name          = "SkippedRuns"
    namespace     = "PgCronJob"
    value         = "1"
    default_value = "0"
    dimensions    = null
  }
}

resource "aws_cloudwatch_metric_alarm" "skipped" {
  alarm_name          = "${var.name}-skipping"
  alarm_description   = "pg_cron_job ${local.job_name}: runs were skipped 3 times in a row (a previous run still holds the lock?)"
  namespace           = "PgCronJob"
  metric_name         = "SkippedRuns"
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 3
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags

  depends_on = [aws_cloudwatch_log_metric_filter.skipped]
}
