output "jobs" {
  description = "Per job: function, role, log group, schedule, secret, SQL hash and alarms."
  value       = module.jobs.jobs
}

output "purge_secret_arn" {
  description = "Secret of the purge job user (set the role's password from it once; see the module README)."
  value       = module.jobs.jobs["purge-events"].secret_arn
}

output "alarm_topic_arn" {
  description = "Topic of every job's alarms."
  value       = module.jobs.alarm_topic_arn
}

output "rotation_security_group_id" {
  description = "Security group for the rotation function (reaches the database and the Secrets Manager endpoint)."
  value       = module.jobs.rotation_security_group_id
}

output "secretsmanager_endpoint_id" {
  description = "The VPC's one Secrets Manager endpoint."
  value       = module.jobs.secretsmanager_endpoint_id
}

output "failure_queue_url" {
  description = "Undelivered schedules and failed runs of every job."
  value       = module.jobs.failure_queue_url
}

output "db_address" {
  description = "Database endpoint."
  value       = aws_db_instance.this.address
}

output "exports_bucket" {
  description = "Bucket the extraction job writes to (under events/)."
  value       = aws_s3_bucket.exports.bucket
}

output "watchdog_function_name" {
  description = "The fleet's watchdog: `aws lambda invoke --function-name <this> out.json` shows every job's state."
  value       = module.jobs.watchdog_function_name
}

output "dashboard_name" {
  description = "The fleet's CloudWatch dashboard."
  value       = module.jobs.dashboard_name
}

output "pending_alarm_subscriptions" {
  description = "alarm_emails that have not confirmed their subscription yet (they receive nothing; SNS deletes them after 48 hours)."
  value       = module.jobs.pending_alarm_subscriptions
}
