output "security_group_id" {
  description = "Security group of every job (egress to the database port and HTTPS). Attach the rotation function to it too."
  value       = try(aws_security_group.jobs[0].id, null)
}

output "security_group_arn" {
  description = "ARN of the jobs' security group."
  value       = try(aws_security_group.jobs[0].arn, null)
}

output "rotation_security_group_id" {
  description = "Security group for the secret rotation function (the jobs' group: it reaches the database and Secrets Manager the same way)."
  value       = try(aws_security_group.jobs[0].id, null)
}

output "secretsmanager_endpoint_id" {
  description = "ID of the created Secrets Manager interface endpoint (null unless secretsmanager_endpoint = \"create\")."
  value       = try(aws_vpc_endpoint.secretsmanager[0].id, null)
}

output "secretsmanager_endpoint_security_group_id" {
  description = "Security group of the Secrets Manager endpoint (created or given)."
  value       = local.create ? local.endpoint_security_group_id : null
}

output "s3_gateway_endpoint_id" {
  description = "ID of the created S3 gateway endpoint (null unless create_s3_gateway_endpoint)."
  value       = try(aws_vpc_endpoint.s3[0].id, null)
}

output "s3_prefix_list_id" {
  description = "S3's prefix list in the region (with the created gateway endpoint), for your own security group rules."
  value       = try(aws_vpc_endpoint.s3[0].prefix_list_id, null)
}

output "kms_key_arn" {
  description = "KMS key of the alarm topic and the failures queue (created or given; null when unencrypted)."
  value       = local.create ? local.kms_key_arn : null
}

output "kms_key_id" {
  description = "ID of the created KMS key."
  value       = try(aws_kms_key.this[0].key_id, null)
}

output "kms_alias_name" {
  description = "Alias of the created KMS key."
  value       = try(aws_kms_alias.this[0].name, null)
}

output "alarm_topic_arn" {
  description = "SNS topic the jobs' alarms notify (created or given)."
  value       = local.create ? local.alarm_topic_arn : null
}

output "alarm_topic_name" {
  description = "Name of the created alarm topic."
  value       = try(aws_sns_topic.alarms[0].name, null)
}

output "failure_queue_arn" {
  description = "ARN of the SQS queue holding undelivered schedules and failed asynchronous runs of every job."
  value       = try(aws_sqs_queue.failures[0].arn, null)
}

output "failure_queue_url" {
  description = "URL of the failures queue."
  value       = try(aws_sqs_queue.failures[0].url, null)
}

output "failure_queue_name" {
  description = "Name of the failures queue."
  value       = try(aws_sqs_queue.failures[0].name, null)
}

output "scheduler_role_arn" {
  description = "ARN of the role EventBridge Scheduler assumes to start the jobs."
  value       = try(aws_iam_role.scheduler[0].arn, null)
}

output "scheduler_role_name" {
  description = "Name of the scheduler role."
  value       = try(aws_iam_role.scheduler[0].name, null)
}

output "role_policies" {
  description = "The inline policies (JSON, no whitespace) of the scheduler and watchdog roles, by role: what IAM measures against its 10,240-character role-policy quota."
  value = local.create ? merge(
    { scheduler = local.scheduler_policy },
    local.watchdog ? { watchdog = local.watchdog_policy } : {},
  ) : null
}

output "job_inputs" {
  description = "Pass as `shared` to each modules/pg_cron_job call (the jobs map module does it for you)."
  value = local.create ? {
    security_group_id  = aws_security_group.jobs[0].id
    scheduler_role_arn = aws_iam_role.scheduler[0].arn
    failure_queue_arn  = aws_sqs_queue.failures[0].arn
    kms_key_arn        = local.kms_key_arn
    kms_encrypted      = local.encrypted
    alarm_topic_arn    = local.alarm_topic_arn
    fleet_name         = var.name
    watchdog           = var.create_watchdog
    schedule_groups    = var.watched_schedule_groups
    # What the jobs' group may reach, known at plan: HTTPS to any address (a NAT), S3's prefix
    # list (the gateway endpoint). The job module fails the plan of a job that needs more.
    network = {
      https_egress = length(local.https_egress_cidr_blocks) > 0
      s3_gateway   = var.create_s3_gateway_endpoint
    }
  } : null
}

output "watchdog_function_name" {
  description = "Name of the fleet's watchdog function (invoke it to see every job's state; `{\"at\": \"<RFC 3339>\"}` previews)."
  value       = try(aws_lambda_function.watchdog[0].function_name, null)
}

output "watchdog_function_arn" {
  description = "ARN of the fleet's watchdog function."
  value       = try(aws_lambda_function.watchdog[0].arn, null)
}

output "watchdog_schedule_arn" {
  description = "ARN of the watchdog's schedule."
  value       = try(aws_scheduler_schedule.watchdog[0].arn, null)
}

output "watchdog_security_group_id" {
  description = "Security group of the watchdog in the VPC (null unless watchdog_in_vpc): HTTPS egress only."
  value       = try(aws_security_group.watchdog[0].id, null)
}

output "watchdog_endpoints_security_group_id" {
  description = "Security group of the created scheduler, monitoring and ssm endpoints (watchdog_vpc_endpoints = \"create\"; null otherwise). It admits only the watchdog: with private DNS every caller of these services in the VPC goes through them, so add your own ingress rules here for other callers."
  value       = try(aws_security_group.watchdog_endpoints[0].id, null)
}

output "watchdog_vpc_endpoint_ids" {
  description = "The created interface endpoints of the watchdog, by service (scheduler, monitoring, ssm; {} unless watchdog_vpc_endpoints = \"create\")."
  value       = { for s, e in aws_vpc_endpoint.watchdog : s => e.id }
}

output "alarm_names" {
  description = "The fleet's own alarms: watchdog errors, not running and unjudged jobs, failures queue (each job has its failed and late alarms)."
  value = compact([
    try(aws_cloudwatch_metric_alarm.watchdog_errors[0].alarm_name, ""),
    try(aws_cloudwatch_metric_alarm.watchdog_not_running[0].alarm_name, ""),
    try(aws_cloudwatch_metric_alarm.watchdog_unjudged[0].alarm_name, ""),
    try(aws_cloudwatch_metric_alarm.failures_queue[0].alarm_name, ""),
  ])
}

output "declared_jobs_path" {
  description = "SSM Parameter Store path of the declared jobs (WATCH_DECLARED_PATH; null without declared jobs or without the watchdog)."
  value       = local.declared ? local.declared_path : null
}

output "declared_jobs" {
  description = "The declared jobs the watchdog reads from declared_jobs_path: job name -> \"<schedule group>/<schedule name>\" ({} without)."
  value       = local.declared ? var.declared_jobs : {}
}

output "dashboard_name" {
  description = "Name of the fleet's CloudWatch dashboard (the overview)."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}

output "dashboard_names" {
  description = "Every dashboard of the fleet: the overview `<name>`, then `<name>-jobs-2`, ... for the declared jobs that do not fit on it ([] without create_dashboard)."
  value       = concat([for d in aws_cloudwatch_dashboard.this : d.dashboard_name], [for d in aws_cloudwatch_dashboard.jobs : d.dashboard_name])
}

# SNS deletes a subscription left in pending confirmation for 48 hours:
# https://aws.amazon.com/about-aws/whats-new/2023/05/amazon-sns-automatic-deletion-unconfirmed-subscriptions/
# (the next plan then creates it again, which sends a new confirmation e-mail).
output "pending_alarm_subscriptions" {
  description = "alarm_emails whose subscription is not confirmed yet: SNS sends them nothing, and deletes an unconfirmed subscription after 48 hours (apply again to send a new confirmation)."
  value       = sort([for e, s in aws_sns_topic_subscription.email : e if s.pending_confirmation])
}
