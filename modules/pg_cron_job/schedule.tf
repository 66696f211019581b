# Dead letters of Scheduler (deliveries it could not make) and failed runs (the function's
# on-failure destination) land in one queue, watched by an alarm.
resource "aws_sqs_queue" "failures" {
  name                      = "${var.name}-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = var.log_kms_key_arn == null ? true : null
  kms_master_key_id         = var.log_kms_key_arn
  tags                      = var.tags
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name_prefix        = "${var.name}-sched-"
  description        = "pg_cron_job ${var.name}: EventBridge Scheduler invokes the job function"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeJob"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this.arn]
  }
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-job"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "this" {
  name                         = var.name
  group_name                   = var.schedule_group_name
  description                  = "pg_cron_job ${local.job_name}"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"
  start_date                   = var.schedule_start_date
  end_date                     = var.schedule_end_date
  kms_key_arn                  = var.kms_key_arn

  # checkov:skip=CKV_AWS_297:The schedule input holds no data (only Scheduler's execution id); kms_key_arn sets a CMK for those who require one.

  flexible_time_window {
    mode                      = var.flexible_time_window_minutes == null ? "OFF" : "FLEXIBLE"
    maximum_window_in_minutes = var.flexible_time_window_minutes
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.scheduler.arn
    # Scheduler fills these in per run; the runner logs the id and uses it against duplicates.
    input = jsonencode({
      id             = "<aws.scheduler.execution-id>"
      scheduled_time = "<aws.scheduler.scheduled-time>"
      schedule_arn   = "<aws.scheduler.schedule-arn>"
      attempt        = "<aws.scheduler.attempt-number>"
    })

    retry_policy {
      maximum_retry_attempts       = var.retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_seconds
    }

    dead_letter_config {
      arn = aws_sqs_queue.failures.arn
    }
  }
}
