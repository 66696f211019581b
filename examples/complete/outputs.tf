output "purge_function_name" {
  description = "Function of the purge job."
  value       = module.purge_events.function_name
}

output "purge_secret_arn" {
  description = "Secret of the purge job user (set the role's password from it once; see the module README)."
  value       = module.purge_events.secret_arn
}

output "vacuum_function_name" {
  description = "Function of the VACUUM job."
  value       = module.vacuum_analyze.function_name
}

output "alarm_topic_arn" {
  description = "Topic of both jobs' alarms."
  value       = module.purge_events.alarm_topic_arn
}

output "db_address" {
  description = "Database endpoint."
  value       = aws_db_instance.this.address
}
