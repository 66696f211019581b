output "function_name" {
  description = "The job's function."
  value       = module.pg_cron_job.function_name
}

output "alarm_topic_arn" {
  description = "Topic of the job's alarms (subscribe to it)."
  value       = module.pg_cron_job.alarm_topic_arn
}

output "security_group_id" {
  description = "The job's security group (already admitted on the database's group)."
  value       = module.pg_cron_job.security_group_id
}
