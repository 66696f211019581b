################################################################################
# Function
################################################################################

variable "name" {
  description = "Name of the job: the Lambda function name and the prefix of every resource the module creates."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,48}$", var.name))
    error_message = "name must be 1-48 letters, digits, '-' or '_' (it prefixes the role, security group and alarm names)."
  }
}

variable "package_path" {
  description = "Path to the Lambda package built by `make build` (.build/<arch>/pg-cron-job.zip)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must point at the .zip that `make build` produces (for example .build/x86_64/pg-cron-job.zip)."
  }
}

variable "architecture" {
  description = "Instruction set of the package: x86_64 (default) or arm64 (Graviton; build with `make build ARCH=arm64`)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\" and match the ARCH the package was built for."
  }
}

variable "memory_size" {
  description = "Lambda memory in MB (the runner needs little; more memory also means more CPU)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Lambda timeout in seconds. The runner keeps every statement inside it (deadline-bounded statement_timeout)."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds (Lambda's limit); for longer purges use repeat_until_zero with continue_on_deadline."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; 1 (default) means at most one run at a time. -1 removes the reservation."
  type        = number
  default     = 1

  validation {
    condition     = var.reserved_concurrent_executions == -1 || var.reserved_concurrent_executions >= 1
    error_message = "reserved_concurrent_executions must be -1 (unreserved) or >= 1; 0 would disable the job."
  }
}

variable "environment" {
  description = "Extra environment variables for the function (for example RUST_LOG). Cannot replace the ones the module manages."
  type        = map(string)
  default     = {}

  validation {
    condition = length(setintersection(keys(var.environment), [
      "DB_SECRET_ID", "SQL", "SQL_FILE", "JOB_NAME", "PGSSLMODE", "PGDATABASE", "PGHOST", "PGPORT", "PGUSER",
      "AUTH_MODE", "TRANSACTION", "STATEMENT_TIMEOUT_MS", "LOCK_TIMEOUT_MS", "ALLOW_OVERLAP", "MAX_RUNTIME_MS",
      "HISTORY_TABLE", "HISTORY_RETENTION_DAYS", "REPEAT_UNTIL_ZERO", "CONTINUE_ON_DEADLINE", "MAX_CONTINUATIONS",
      "PGPASSWORD",
    ])) == 0
    error_message = "environment must not set variables the module manages (use the matching module input instead) nor PGPASSWORD (keep passwords in the secret)."
  }
}

variable "kms_key_arn" {
  description = "Customer KMS key for the function's environment variables and the schedule (null: AWS managed keys)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Job
################################################################################

variable "job_name" {
  description = "JOB_NAME: name in results, logs, history and the overlap lock. Defaults to the function name."
  type        = string
  default     = null
}

variable "sql" {
  description = "SQL: one inline SQL statement (for example \"VACUUM (ANALYZE) public.events\"). Set exactly one of sql and sql_file."
  type        = string
  default     = null

  validation {
    condition     = (var.sql == null) != (var.sql_file == null)
    error_message = "Set exactly one of sql (an inline statement) and sql_file (a .sql file in the package)."
  }
}

variable "sql_file" {
  description = "SQL_FILE: path of a .sql file inside the package, relative to its root (`make build SQL_DIR=dir` puts dir/*.sql under sql/)."
  type        = string
  default     = null

  validation {
    condition     = var.sql_file == null || can(regex("^[A-Za-z0-9_./-]+\\.sql$", coalesce(var.sql_file, "x.sql")))
    error_message = "sql_file must be a relative path ending in .sql inside the package, for example \"sql/purge_events.sql\"."
  }
}

variable "transaction" {
  description = "TRANSACTION: run the whole job in one transaction, rolled back on any error (false: autocommit, so VACUUM works)."
  type        = bool
  default     = false
}

variable "statement_timeout_ms" {
  description = "STATEMENT_TIMEOUT_MS: per-statement timeout; the runner never lets it pass the Lambda deadline anyway."
  type        = number
  default     = null

  validation {
    condition     = var.statement_timeout_ms == null || coalesce(var.statement_timeout_ms, 1) >= 1
    error_message = "statement_timeout_ms must be >= 1 (leave it null for no limit besides the Lambda deadline)."
  }
}

variable "lock_timeout_ms" {
  description = "LOCK_TIMEOUT_MS: how long a statement may wait for a lock."
  type        = number
  default     = null

  validation {
    condition     = var.lock_timeout_ms == null || coalesce(var.lock_timeout_ms, 1) >= 1
    error_message = "lock_timeout_ms must be >= 1 (leave it null for no limit)."
  }
}

variable "allow_overlap" {
  description = "ALLOW_OVERLAP: let a run start while another run of the same job holds its advisory lock."
  type        = bool
  default     = false
}

variable "max_runtime_ms" {
  description = "MAX_RUNTIME_MS: a time budget for the run, shorter than the Lambda timeout."
  type        = number
  default     = null
}

variable "history_table" {
  description = "HISTORY_TABLE: record every run in this table (schema.table), like pg_cron's job_run_details. null: off."
  type        = string
  default     = null

  validation {
    condition     = var.history_table == null || (can(regex("^([a-z_][a-z0-9_]*\\.)?[a-z_][a-z0-9_]*$", coalesce(var.history_table, "x"))) && !startswith(coalesce(var.history_table, "x"), "pg_"))
    error_message = "history_table must be schema.table or table in lower-case letters, digits and _, in a schema not starting with pg_ (reserved by PostgreSQL), for example cron_jobs.job_run_details."
  }
}

variable "history_retention_days" {
  description = "HISTORY_RETENTION_DAYS: history rows of this job older than this are deleted (0 keeps all)."
  type        = number
  default     = 30
}

variable "repeat_until_zero" {
  description = "REPEAT_UNTIL_ZERO: repeat the single batched statement until it affects 0 rows or the deadline is near."
  type        = bool
  default     = false
}

variable "continue_on_deadline" {
  description = "CONTINUE_ON_DEADLINE: a partial batched run re-invokes the function asynchronously to continue (grants lambda:InvokeFunction on itself only). Needs repeat_until_zero and history_table."
  type        = bool
  default     = false

  validation {
    condition     = !var.continue_on_deadline || (var.repeat_until_zero && var.history_table != null)
    error_message = "continue_on_deadline needs repeat_until_zero = true and a history_table (the chain hand-off is recorded there)."
  }
}

variable "max_continuations" {
  description = "MAX_CONTINUATIONS: longest chain of continuations after a scheduled run."
  type        = number
  default     = 10
}

variable "log_level" {
  description = "RUST_LOG filter for the runner's JSON logs (info, debug, warn...)."
  type        = string
  default     = "info"
}

################################################################################
# Database connection and credentials
################################################################################

variable "auth_mode" {
  description = "AUTH_MODE: \"secret\" (username/password from Secrets Manager) or \"iam\" (IAM database authentication)."
  type        = string
  default     = "secret"

  validation {
    condition     = contains(["secret", "iam"], var.auth_mode)
    error_message = "auth_mode must be \"secret\" or \"iam\"."
  }
}

variable "secret_arn" {
  description = "ARN of an existing secret with RDS credentials JSON (for example the RDS-managed master secret). Exclusive with create_secret."
  type        = string
  default     = null

  validation {
    condition     = var.secret_arn != null || var.create_secret || var.auth_mode == "iam"
    error_message = "Give the job credentials: set secret_arn (an existing secret), or create_secret = true, or auth_mode = \"iam\"."
  }

  validation {
    condition     = !(var.secret_arn != null && var.create_secret)
    error_message = "Set either secret_arn or create_secret = true, not both."
  }
}

variable "create_secret" {
  description = "Create a secret for a dedicated job user; its password is generated ephemerally and written write-only, so it never enters Terraform state."
  type        = bool
  default     = false
}

variable "secret_username" {
  description = "Job user stored in the created secret (create_secret = true)."
  type        = string
  default     = null

  validation {
    condition     = !var.create_secret || (var.secret_username != null && var.database_host != null)
    error_message = "create_secret = true needs secret_username and database_host (they go into the secret with the generated password)."
  }
}

variable "secret_password_version" {
  description = "Bump to write a new generated password into the created secret (write-only attributes change only with their version)."
  type        = number
  default     = 1
}

variable "secret_kms_key_arn" {
  description = "Customer KMS key for the created secret, or the key of the existing secret_arn (the function may decrypt with it only via Secrets Manager)."
  type        = string
  default     = null
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the created secret when it is destroyed (0 deletes at once)."
  type        = number
  default     = 7
}

variable "rotation_lambda_arn" {
  description = "ARN of the AWS RDS PostgreSQL single-user rotation function (SecretsManagerRDSPostgreSQLRotationSingleUser). null: no rotation."
  type        = string
  default     = null
}

variable "rotation_days" {
  description = "Rotate the created secret every this many days."
  type        = number
  default     = 30

  validation {
    condition     = var.rotation_days >= 1 && var.rotation_days <= 1000
    error_message = "rotation_days must be between 1 and 1000."
  }
}

variable "database_host" {
  description = "PGHOST: database endpoint; overrides the secret's host. Required with create_secret and with auth_mode = \"iam\"."
  type        = string
  default     = null

  validation {
    condition     = var.auth_mode != "iam" || (var.database_host != null && var.database_user != null && var.iam_database_resource_id != null)
    error_message = "auth_mode = \"iam\" needs database_host, database_user and iam_database_resource_id (the DbiResourceId or cluster resource id)."
  }
}

variable "database_port" {
  description = "PGPORT and the port the security-group rules open."
  type        = number
  default     = 5432

  validation {
    condition     = var.database_port >= 1 && var.database_port <= 65535
    error_message = "database_port must be a TCP port (1-65535)."
  }
}

variable "database_name" {
  description = "PGDATABASE: database to run the job in; overrides the secret's dbname."
  type        = string
  default     = null
}

variable "database_user" {
  description = "PGUSER: role to log in as; overrides the secret's username (required for auth_mode = \"iam\")."
  type        = string
  default     = null
}

variable "iam_database_resource_id" {
  description = "For auth_mode = \"iam\": the DB instance's DbiResourceId or the Aurora cluster's resource id (db-... / cluster-...)."
  type        = string
  default     = null
}

variable "ssl_mode" {
  description = "PGSSLMODE: disable, require, verify-ca or verify-full (default; checks the RDS CA bundle shipped in the package and the host name)."
  type        = string
  default     = "verify-full"

  validation {
    condition     = contains(["disable", "require", "verify-ca", "verify-full"], var.ssl_mode)
    error_message = "ssl_mode must be one of disable, require, verify-ca, verify-full."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "VPC of the database; the function's security group is created there."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the function (they need a route to Secrets Manager: a NAT gateway or create_secretsmanager_endpoint)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids needs at least one subnet (two in different AZs is better)."
  }
}

variable "database_security_group_id" {
  description = "Security group of the database: the function's egress goes to it, and with create_database_ingress_rule the module opens it to the function."
  type        = string
  default     = null

  validation {
    condition     = var.database_security_group_id != null || length(var.database_cidr_blocks) > 0
    error_message = "Tell the module where the database is: database_security_group_id or database_cidr_blocks."
  }
}

variable "create_database_ingress_rule" {
  description = "Add an ingress rule on database_security_group_id allowing the function on database_port."
  type        = bool
  default     = true

  validation {
    condition     = !var.create_database_ingress_rule || var.database_security_group_id != null
    error_message = "create_database_ingress_rule needs database_security_group_id; with database_cidr_blocks set create_database_ingress_rule = false and open the database yourself."
  }
}

variable "database_cidr_blocks" {
  description = "CIDR blocks of the database; when set, the function's egress goes to them instead of database_security_group_id."
  type        = list(string)
  default     = []
}

variable "https_egress_cidr_blocks" {
  description = "Where the function may reach HTTPS (Secrets Manager, STS, Lambda). Narrow it to your VPC CIDR when using VPC endpoints."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "create_secretsmanager_endpoint" {
  description = "Create a Secrets Manager interface VPC endpoint in subnet_ids (for subnets without NAT, the classic reason these Lambdas time out)."
  type        = bool
  default     = false
}

################################################################################
# Schedule
################################################################################

variable "schedule_expression" {
  description = "EventBridge Scheduler expression: cron(m h dom mon dow y), rate(n unit) or at(yyyy-mm-ddThh:mm:ss)."
  type        = string

  validation {
    condition = (
      can(regex("^cron\\(\\S+ \\S+ \\S+ \\S+ \\S+ \\S+\\)$", var.schedule_expression)) ||
      can(regex("^rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)$", var.schedule_expression)) ||
      can(regex("^at\\([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\)$", var.schedule_expression))
    )
    error_message = "schedule_expression must be cron(min hour day-of-month month day-of-week year) with six fields (e.g. cron(30 2 * * ? *)), rate(5 minutes) or at(2026-12-31T23:00:00)."
  }

  validation {
    condition     = !can(regex("^cron\\(", var.schedule_expression)) || can(regex("^cron\\(\\S+ \\S+ (\\? \\S+ \\S+|\\S+ \\S+ \\?) \\S+\\)$", var.schedule_expression))
    error_message = "In a cron() expression one of day-of-month (3rd field) and day-of-week (5th field) must be '?', e.g. cron(0 3 * * ? *)."
  }
}

variable "schedule_timezone" {
  description = "IANA time zone of the schedule (for example Europe/Rome); cron times follow its daylight-saving changes."
  type        = string
  default     = "UTC"

  validation {
    condition     = can(regex("^(UTC|[A-Za-z]+(/[A-Za-z0-9_+-]+)+|Etc/[A-Za-z0-9+-]+)$", var.schedule_timezone))
    error_message = "schedule_timezone must be an IANA time zone name such as UTC, Europe/Rome or America/New_York."
  }
}

variable "schedule_enabled" {
  description = "Whether the schedule fires (false pauses the job without destroying it)."
  type        = bool
  default     = true
}

variable "schedule_group_name" {
  description = "EventBridge Scheduler group."
  type        = string
  default     = "default"
}

variable "flexible_time_window_minutes" {
  description = "Let Scheduler start the run up to this many minutes late to spread load (null: exactly on time)."
  type        = number
  default     = null

  validation {
    condition     = var.flexible_time_window_minutes == null || (coalesce(var.flexible_time_window_minutes, 1) >= 1 && coalesce(var.flexible_time_window_minutes, 1) <= 1440)
    error_message = "flexible_time_window_minutes must be between 1 and 1440, or null for an exact start."
  }
}

variable "schedule_start_date" {
  description = "First time the schedule may fire (RFC 3339, e.g. 2026-01-01T00:00:00Z)."
  type        = string
  default     = null
}

variable "schedule_end_date" {
  description = "Last time the schedule may fire (RFC 3339)."
  type        = string
  default     = null
}

variable "retry_attempts" {
  description = "Scheduler retries of a failed delivery. 0 by default: a job is not idempotent unless you say so."
  type        = number
  default     = 0

  validation {
    condition     = var.retry_attempts >= 0 && var.retry_attempts <= 185
    error_message = "retry_attempts must be between 0 and 185."
  }
}

variable "maximum_event_age_seconds" {
  description = "Scheduler drops (to the dead-letter queue) a delivery it could not make within this many seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_seconds >= 60 && var.maximum_event_age_seconds <= 86400
    error_message = "maximum_event_age_seconds must be between 60 and 86400."
  }
}

################################################################################
# Observability
################################################################################

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the function's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_kms_key_arn" {
  description = "Customer KMS key for the log group and the failure queue (null: AWS owned encryption)."
  type        = string
  default     = null
}

variable "create_alarm_topic" {
  description = "Create an SNS topic for the alarms (false: give alarm_topic_arn)."
  type        = bool
  default     = true
}

variable "alarm_topic_arn" {
  description = "Existing SNS topic for the alarms (used when create_alarm_topic = false)."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the created alarm topic."
  type        = list(string)
  default     = []
}
