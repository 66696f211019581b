variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-south-1"
}

variable "name" {
  description = "Prefix of every resource."
  type        = string
  default     = "pgcj-demo"
}

variable "package_path" {
  description = "The zip from `make build` (it holds sql/purge_events.sql and sql/expire_sessions.sql)."
  type        = string
  default     = "../../.build/x86_64/pg-cron-job.zip"
}

variable "rotation_lambda_arn" {
  description = "ARN of the SecretsManagerRDSPostgreSQLRotationSingleUser function (deploy it from the AWS Serverless Application Repository in the private subnets with the rotation_security_group_id output); null disables rotation."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "Who hears about failed or missed runs (one confirmation e-mail each for the whole fleet)."
  type        = list(string)
  default     = []
}

variable "extra_jobs" {
  description = "Number of additional ANALYZE jobs (used to measure the per-job resource count)."
  type        = number
  default     = 0
}
