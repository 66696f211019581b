# Every input is what modules/pg_cron_job already validated (its variables.tf); here they are
# only facts of one job.
variable "function_name" {
  description = "The job's function name (the continuation grant names it)."
  type        = string
}

variable "log_group_name" {
  description = "The job's log group, /aws/lambda/<function name>."
  type        = string
}

variable "failure_queue_arn" {
  description = "The fleet's failures queue (the on-failure destination)."
  type        = string
}

variable "failure_queue_encrypted" {
  description = "Whether the queue has a customer key (known at plan; the key ARN may not be)."
  type        = bool
}

variable "failure_queue_kms_key_arn" {
  description = "The queue's customer key."
  type        = string
  default     = null
}

variable "has_secret" {
  description = "Whether the job reads a secret (known at plan; a created secret's ARN is not)."
  type        = bool
}

variable "secret_arn" {
  description = "The job's secret, or an IAM pattern covering it."
  type        = string
  default     = null
}

variable "secret_kms_key_arn" {
  description = "The secret's customer key, decrypted through Secrets Manager only."
  type        = string
  default     = null
}

variable "auth_mode" {
  description = "\"secret\" or \"iam\" (null, from a jobs entry that sets none: modules/pg_cron_job's default)."
  type        = string
  default     = "secret"
  nullable    = false
}

variable "iam_database_resource_id" {
  description = "The database's resource id (rds-db:connect)."
  type        = string
  default     = null
}

variable "database_user" {
  description = "The database user the job logs in as."
  type        = string
  default     = null
}

variable "db_instance_identifier" {
  description = "The instance the runner describes."
  type        = string
  default     = null
}

variable "db_cluster_identifier" {
  description = "The cluster the runner describes."
  type        = string
  default     = null
}

variable "export_bucket_arn" {
  description = "The extraction's bucket (null: no extraction)."
  type        = string
  default     = null
}

variable "export_prefix" {
  description = "The extraction's prefix; the role may write only there."
  type        = string
  default     = null
}

variable "export_kms_key_arn" {
  description = "The extraction's SSE-KMS key, through S3 only."
  type        = string
  default     = null
}

variable "continue_on_deadline" {
  description = "Whether the job invokes itself to continue (null: modules/pg_cron_job's default)."
  type        = bool
  default     = false
  nullable    = false
}
