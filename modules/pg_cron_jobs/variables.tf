variable "create" {
  description = "Create the fleet (false: create nothing)."
  type        = bool
  default     = true
  nullable    = false
}

variable "name" {
  description = "Name of the fleet: prefix of the shared resources and of each job's default name (\"<name>-<key>\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1-40 letters, digits, '-' or '_' (job names \"<name>-<key>\" must fit Lambda's 64 characters)."
  }
}

variable "package_path" {
  description = "Path to the Lambda package built by `make build` (a job may override it)."
  type        = string
}

variable "tags" {
  description = "Tags for every resource (a job's tags are added to its own resources)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "defaults" {
  description = "Values for every job that does not set them (same attributes as a jobs entry)."
  type = object({
    name                           = optional(string)
    job_name                       = optional(string)
    sql                            = optional(string)
    sql_file                       = optional(string)
    sql_source_path                = optional(string)
    schedule_expression            = optional(string)
    schedule_timezone              = optional(string)
    schedule_enabled               = optional(bool)
    schedule_group_name            = optional(string)
    flexible_time_window_minutes   = optional(number)
    schedule_start_date            = optional(string)
    schedule_end_date              = optional(string)
    retry_attempts                 = optional(number)
    maximum_event_age_seconds      = optional(number)
    transaction                    = optional(bool)
    statement_timeout_ms           = optional(number)
    lock_timeout_ms                = optional(number)
    allow_overlap                  = optional(bool)
    max_runtime_ms                 = optional(number)
    history_table                  = optional(string)
    history_retention_days         = optional(number)
    repeat_until_zero              = optional(bool)
    continue_on_deadline           = optional(bool)
    max_continuations              = optional(number)
    log_level                      = optional(string)
    expected_interval_seconds      = optional(number)
    environment                    = optional(map(string))
    memory_size                    = optional(number)
    timeout                        = optional(number)
    reserved_concurrent_executions = optional(number)
    package_path                   = optional(string)
    architecture                   = optional(string)
    auth_mode                      = optional(string)
    secret_arn                     = optional(string)
    secret_kms_key_arn             = optional(string)
    create_secret                  = optional(bool)
    secret_username                = optional(string)
    secret_password_version        = optional(number)
    secret_recovery_window_days    = optional(number)
    rotation_lambda_arn            = optional(string)
    rotation_days                  = optional(number)
    database_host                  = optional(string)
    database_name                  = optional(string)
    database_user                  = optional(string)
    iam_database_resource_id       = optional(string)
    ssl_mode                       = optional(string)
    log_retention_days             = optional(number)
    log_kms_key_arn                = optional(string)
    kms_key_arn                    = optional(string)
    tags                           = optional(map(string))
  })
  default  = {}
  nullable = false
}

variable "jobs" {
  description = "The jobs, by key: each entry takes the inputs of modules/pg_cron_job (a misspelt attribute fails at plan). schedule_expression and one of sql / sql_file + sql_source_path are needed per job or in defaults."
  type = map(object({
    name                           = optional(string)
    job_name                       = optional(string)
    sql                            = optional(string)
    sql_file                       = optional(string)
    sql_source_path                = optional(string)
    schedule_expression            = optional(string)
    schedule_timezone              = optional(string)
    schedule_enabled               = optional(bool)
    schedule_group_name            = optional(string)
    flexible_time_window_minutes   = optional(number)
    schedule_start_date            = optional(string)
    schedule_end_date              = optional(string)
    retry_attempts                 = optional(number)
    maximum_event_age_seconds      = optional(number)
    transaction                    = optional(bool)
    statement_timeout_ms           = optional(number)
    lock_timeout_ms                = optional(number)
    allow_overlap                  = optional(bool)
    max_runtime_ms                 = optional(number)
    history_table                  = optional(string)
    history_retention_days         = optional(number)
    repeat_until_zero              = optional(bool)
    continue_on_deadline           = optional(bool)
    max_continuations              = optional(number)
    log_level                      = optional(string)
    expected_interval_seconds      = optional(number)
    environment                    = optional(map(string))
    memory_size                    = optional(number)
    timeout                        = optional(number)
    reserved_concurrent_executions = optional(number)
    package_path                   = optional(string)
    architecture                   = optional(string)
    auth_mode                      = optional(string)
    secret_arn                     = optional(string)
    secret_kms_key_arn             = optional(string)
    create_secret                  = optional(bool)
    secret_username                = optional(string)
    secret_password_version        = optional(number)
    secret_recovery_window_days    = optional(number)
    rotation_lambda_arn            = optional(string)
    rotation_days                  = optional(number)
    database_host                  = optional(string)
    database_name                  = optional(string)
    database_user                  = optional(string)
    iam_database_resource_id       = optional(string)
    ssl_mode                       = optional(string)
    log_retention_days             = optional(number)
    log_kms_key_arn                = optional(string)
    kms_key_arn                    = optional(string)
    tags                           = optional(map(string))
  }))

  validation {
    condition     = alltrue([for k in keys(var.jobs) : can(regex("^[A-Za-z0-9_-]{1,64}$", k))])
    error_message = "jobs keys must be letters, digits, '-' or '_' (they name the functions \"<name>-<key>\")."
  }

  validation {
    condition     = length(distinct([for k, j in var.jobs : j.name != null ? j.name : "${var.name}-${k}"])) == length(var.jobs)
    error_message = "Two jobs would get the same function name: give them different keys or names."
  }
}

################################################################################
# Shared layer (modules/pg_cron_job_shared)
################################################################################

variable "vpc_id" {
  description = "VPC of the database and the jobs."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the jobs (and of the created Secrets Manager endpoint)."
  type        = list(string)
}

variable "database_security_group_id" {
  description = "Security group of the database: one ingress rule admits every job."
  type        = string
  default     = null
}

variable "create_database_ingress_rule" {
  description = "Add the one ingress rule on database_security_group_id for all jobs."
  type        = bool
  default     = true
  nullable    = false
}

variable "database_cidr_blocks" {
  description = "CIDR blocks of the database (instead of database_security_group_id)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "database_port" {
  description = "Port of the database."
  type        = number
  default     = 5432
  nullable    = false
}

variable "secretsmanager_endpoint" {
  description = "\"create\" (one interface endpoint for the VPC), \"existing\" (give secretsmanager_endpoint_security_group_id) or \"none\" (NAT)."
  type        = string
  default     = "none"
  nullable    = false
}

variable "secretsmanager_endpoint_security_group_id" {
  description = "Security group of the VPC's existing Secrets Manager endpoint (secretsmanager_endpoint = \"existing\")."
  type        = string
  default     = null
}

variable "https_egress_cidr_blocks" {
  description = "Extra HTTPS egress of the jobs (null: 0.0.0.0/0 without an endpoint, none with one)."
  type        = list(string)
  default     = null
}

variable "create_kms_key" {
  description = "Create the customer-managed KMS key of the alarm topic and the failures queue."
  type        = bool
  default     = true
  nullable    = false
}

variable "kms_key_arn" {
  description = "Your KMS key for the alarm topic and the failures queue (create_kms_key = false); see the key-policy statements in the README."
  type        = string
  default     = null
}

variable "create_alarm_topic" {
  description = "Create the fleet's alarm topic."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_topic_arn" {
  description = "Existing SNS topic for every job's alarms (create_alarm_topic = false)."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed once to the fleet's alarm topic."
  type        = list(string)
  default     = []
  nullable    = false
}
