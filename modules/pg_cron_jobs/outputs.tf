output "jobs" {
  description = "Per job key: function_name, function_arn, role_name, role_arn, log_group_name, log_group_arn, schedule_name, schedule_group_name, schedule_arn, secret_arn, sql_sha256, failed_alarm_arn, late_alarm_name, late_alarm_arn, environment, export_s3_uri, rotation_function_arn."
  value = {
    for k, j in module.job : k => {
      function_name         = j.function_name
      function_arn          = j.function_arn
      role_name             = j.role_name
      role_arn              = j.role_arn
      log_group_name        = j.log_group_name
      log_group_arn         = j.log_group_arn
      schedule_name         = j.schedule_name
      schedule_group_name   = j.schedule_group_name
      schedule_arn          = j.schedule_arn
      secret_arn            = j.secret_arn
      sql_sha256            = j.sql_sha256
      failed_alarm_arn      = j.failed_alarm_arn
      late_alarm_name       = j.late_alarm_name
      late_alarm_arn        = j.late_alarm_arn
      environment           = j.environment
      export_s3_uri         = j.export_s3_uri
      rotation_function_arn = j.rotation_function_arn
    }
  }
}

output "security_group_id" {
  description = "Security group of every job (and of the secret rotation function)."
  value       = module.shared.security_group_id
}

output "rotation_security_group_id" {
  description = "Security group to give the secret rotation function (reaches the database and Secrets Manager like the jobs)."
  value       = module.shared.rotation_security_group_id
}

output "secretsmanager_endpoint_id" {
  description = "The created Secrets Manager endpoint (null unless secretsmanager_endpoint = \"create\")."
  value       = module.shared.secretsmanager_endpoint_id
}

output "secretsmanager_endpoint_security_group_id" {
  description = "Security group of the Secrets Manager endpoint (created or given)."
  value       = module.shared.secretsmanager_endpoint_security_group_id
}

output "kms_key_arn" {
  description = "KMS key of the alarm topic and the failures queue."
  value       = module.shared.kms_key_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of every job's alarms."
  value       = module.shared.alarm_topic_arn
}

output "failure_queue_arn" {
  description = "ARN of the failures queue shared by the jobs."
  value       = module.shared.failure_queue_arn
}

output "failure_queue_url" {
  description = "URL of the failures queue."
  value       = module.shared.failure_queue_url
}

output "scheduler_role_arn" {
  description = "Role EventBridge Scheduler assumes for every job."
  value       = module.shared.scheduler_role_arn
}

output "scheduler_role_name" {
  description = "Name of the scheduler role."
  value       = module.shared.scheduler_role_name
}

output "s3_gateway_endpoint_id" {
  description = "The created S3 gateway endpoint (null unless create_s3_gateway_endpoint)."
  value       = module.shared.s3_gateway_endpoint_id
}

output "watchdog_function_name" {
  description = "The fleet's watchdog: invoke it to see every job's state (`{\"at\": \"<RFC 3339>\"}` previews)."
  value       = module.shared.watchdog_function_name
}

output "watchdog_function_arn" {
  description = "ARN of the fleet's watchdog function."
  value       = module.shared.watchdog_function_arn
}

output "watchdog_schedule_arn" {
  description = "ARN of the watchdog's schedule."
  value       = module.shared.watchdog_schedule_arn
}

output "alarm_names" {
  description = "The fleet's own alarms (watchdog errors, not running and unjudged jobs, failures queue)."
  value       = module.shared.alarm_names
}

output "dashboard_name" {
  description = "The fleet's CloudWatch dashboard (the overview)."
  value       = module.shared.dashboard_name
}

output "dashboard_names" {
  description = "Every dashboard of the fleet: the overview, then `<name>-jobs-2`, ... for the jobs that do not fit on it (more than 1,000 with the watchdog)."
  value       = module.shared.dashboard_names
}

output "watchdog_security_group_id" {
  description = "Security group of the watchdog in the VPC (null unless watchdog_in_vpc)."
  value       = module.shared.watchdog_security_group_id
}

output "pending_alarm_subscriptions" {
  description = "alarm_emails not confirmed yet: they receive nothing, and SNS deletes an unconfirmed subscription after 48 hours."
  value       = module.shared.pending_alarm_subscriptions
}

output "job_role_arn" {
  description = "The execution role every job shares (role_per_job = false); null with a role per job (see jobs[*].role_arn)."
  value       = try(aws_iam_role.jobs[0].arn, null)
}

output "job_role_name" {
  description = "Name of the shared execution role (role_per_job = false), for attaching further policies."
  value       = try(aws_iam_role.jobs[0].name, null)
}
