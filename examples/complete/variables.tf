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

variable "rotation_strategy" {
  description = "Built-in rotation of the purge job's secret: \"single-user\" (default; the job user changes its own password) or null (no built-in rotation). \"alternating-users\" would also need a master_secret_arn (see the module README)."
  type        = string
  default     = "single-user"
}

variable "rotation_lambda_arn" {
  description = "Bring your own rotation function instead of the built-in one: the ARN of, e.g., SecretsManagerRDSPostgreSQLRotationSingleUser (deploy it in the private subnets with the rotation_security_group_id output). null: the built-in rotation (rotation_strategy)."
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
