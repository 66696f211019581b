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
  description = "The zip from `make build` (it holds sql/purge_events.sql)."
  type        = string
  default     = "../../.build/x86_64/pg-cron-job.zip"
}

variable "rotation_lambda_arn" {
  description = "ARN of the SecretsManagerRDSPostgreSQLRotationSingleUser function (deploy it from the AWS Serverless Application Repository); null disables rotation."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "Who hears about failed runs."
  type        = list(string)
  default     = []
}
