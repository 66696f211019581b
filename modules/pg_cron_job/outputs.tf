output "function_name" {
  description = "Name of the job's Lambda function."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "function_arn" {
  description = "ARN of the job's Lambda function."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "role_arn" {
  description = "ARN of the function's execution role (the created one, or role_arn)."
  value       = local.create ? local.role_arn : null
}

output "role_name" {
  description = "Name of the function's execution role (null when create_role = false)."
  value       = try(aws_iam_role.lambda[0].name, null)
}

output "role_policy_statements" {
  description = "The statements of role_policy_json as aws_iam_policy_document blocks (sid, actions, resources, condition), known at plan: the jobs map merges them into its shared role's policy."
  value       = try(module.permissions[0].statements, [])
}

output "role_policy_json" {
  description = "The least-privilege policy this job's execution role needs (its log, secret, queue, key, database user, export prefix): what the module attaches to the role it creates, and what a shared role (create_role = false) must grant."
  value       = try(module.permissions[0].json, null)
}

output "log_group_name" {
  description = "CloudWatch log group of the job's runs."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "log_group_arn" {
  description = "ARN of the job's log group."
  value       = try(aws_cloudwatch_log_group.this[0].arn, null)
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule."
  value       = try(aws_scheduler_schedule.this[0].arn, null)
}

output "schedule_name" {
  description = "Name of the schedule."
  value       = try(aws_scheduler_schedule.this[0].name, null)
}

output "schedule_group_name" {
  description = "Scheduler group of the schedule."
  value       = try(aws_scheduler_schedule.this[0].group_name, null)
}

output "secret_arn" {
  description = "ARN of the secret the job reads (created or given; null with IAM auth and no secret)."
  value       = local.create ? local.secret_arn : null
}

output "sql_sha256" {
  description = "SQL_SHA256 given to the runner: SHA-256 of sql_source_path (null for inline sql)."
  value       = try(local.environment["SQL_SHA256"], null)
}

output "failed_alarm_arn" {
  description = "ARN of the alarm on failed runs."
  value       = try(aws_cloudwatch_metric_alarm.failed[0].arn, null)
}

output "late_alarm_name" {
  description = "Name of the late alarm (null without a watchdog)."
  value       = try(aws_cloudwatch_metric_alarm.late[0].alarm_name, null)
}

output "late_alarm_arn" {
  description = "ARN of the alarm on a start without a run (from the fleet's watchdog; null without one)."
  value       = try(aws_cloudwatch_metric_alarm.late[0].arn, null)
}

output "security_group_id" {
  description = "Security group of the function (the shared layer's)."
  value       = try(local.shared.security_group_id, null)
}

output "scheduler_role_arn" {
  description = "Role EventBridge Scheduler assumes to invoke the function (the shared layer's)."
  value       = try(local.shared.scheduler_role_arn, null)
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = local.alarm_topic_arn
}

output "failure_queue_arn" {
  description = "SQS queue holding undelivered schedules and failed asynchronous runs."
  value       = try(local.shared.failure_queue_arn, null)
}

output "failure_queue_url" {
  description = "URL of the failures queue when the job created it (standalone); in a fleet see the shared layer's output."
  value       = try(module.shared[0].failure_queue_url, null)
}

output "kms_key_arn" {
  description = "KMS key of the alarm topic and the failures queue."
  value       = try(local.shared.kms_key_arn, null)
}

output "secretsmanager_endpoint_id" {
  description = "Secrets Manager endpoint the job created (standalone with create_secretsmanager_endpoint)."
  value       = try(module.shared[0].secretsmanager_endpoint_id, null)
}

output "environment" {
  description = "The function's environment variables (what the runner reads; no secrets: credentials stay in Secrets Manager)."
  value       = local.create ? local.environment : null
}

output "export_s3_uri" {
  description = "EXPORT_S3_URI of an extraction job (s3://bucket/prefix/key with placeholders); null otherwise."
  value       = local.export_s3_uri
}

output "rotation_function_arn" {
  description = "ARN of the built-in rotation function (null without rotation)."
  value       = try(aws_lambda_function.rotation[0].arn, null)
}

output "rotation_function_name" {
  description = "Name of the built-in rotation function (\"<name>-rotation\"; null without rotation)."
  value       = try(aws_lambda_function.rotation[0].function_name, null)
}

output "rotation_role_arn" {
  description = "ARN of the rotation function's role (null without rotation)."
  value       = try(aws_lambda_function.rotation[0].role, null)
}
