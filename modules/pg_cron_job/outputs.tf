output "function_name" {
  description = "Name of the job's Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the job's Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.lambda.arn
}

output "security_group_id" {
  description = "Security group of the function (allow it on the database's security group if the module did not)."
  value       = aws_security_group.lambda.id
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule."
  value       = aws_scheduler_schedule.this.arn
}

output "secret_arn" {
  description = "ARN of the secret the job reads (created or given; null with IAM auth and no secret)."
  value       = local.secret_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the job's runs."
  value       = aws_cloudwatch_log_group.this.name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = local.alarm_topic_arn
}

output "failure_queue_arn" {
  description = "SQS queue holding undelivered schedules and failed asynchronous runs."
  value       = aws_sqs_queue.failures.arn
}
