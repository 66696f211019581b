# Scheduler's dead letters (deliveries it could not make) and failed runs (the function's
# on-failure destination) land in the shared failures queue; the role Scheduler assumes is shared
# too (it may invoke exactly the fleet's functions).
resource "aws_scheduler_schedule" "this" {
  count                        = local.create ? 1 : 0
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
    arn      = aws_lambda_function.this[0].arn
    role_arn = local.shared.scheduler_role_arn
    # Scheduler fills these in per run; the runner logs the id and uses it against duplicates.
    # `watch` is for the fleet's watchdog (the runner ignores it): which fleet, the job's name
    # (its metrics' Job dimension), its grace time and the function's timeout.
    input = jsonencode({
      id             = "<aws.scheduler.execution-id>"
      scheduled_time = "<aws.scheduler.scheduled-time>"
      schedule_arn   = "<aws.scheduler.schedule-arn>"
      attempt        = "<aws.scheduler.attempt-number>"
      watch = {
        fleet           = coalesce(try(local.shared.fleet_name, null), var.name)
        job             = local.job_name
        grace_seconds   = var.grace_minutes * 60
        timeout_seconds = var.timeout
      }
    })

    retry_policy {
      maximum_retry_attempts       = var.retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_seconds
    }

    dead_letter_config {
      arn = local.shared.failure_queue_arn
    }
  }
}
