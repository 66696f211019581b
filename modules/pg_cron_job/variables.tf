################################################################################
# Function
################################################################################

variable "create" {
  description = "Create the job (false: create nothing; outputs are null)."
  type        = bool
  default     = true
  nullable    = false
}

variable "name" {
  description = "Name of the job: the Lambda function and schedule name and the prefix of the job's other resources."
  type        = string

  validation {
    # Lambda function names and Scheduler schedule names are at most 64 characters:
    # https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-FunctionName
    # https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html#API_CreateSchedule_RequestSyntax
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, '-' or '_' (Lambda function and schedule names are limited to 64 characters): shorten it."
  }
}

variable "shared" {
  description = "The shared layer of a fleet: `module.<shared>.job_inputs` of modules/pg_cron_job_shared (the jobs map module passes it). null: the job creates its own security group, failures queue, scheduler role, KMS key and alarm topic."
  type = object({
    security_group_id  = string
    scheduler_role_arn = string
    failure_queue_arn  = string
    kms_key_arn        = optional(string)
    kms_encrypted      = optional(bool) # known at plan time even when kms_key_arn is not
    alarm_topic_arn    = optional(string)
    fleet_name         = optional(string)       # the watchdog's WATCH_FLEET
    watchdog           = optional(bool, false)  # the fleet has a watchdog: the job gets a late alarm
    schedule_groups    = optional(list(string)) # the Scheduler groups the fleet declares (schedule_group_name may name them)
    network = optional(object({                 # what the jobs' group may reach (null: not known, not checked)
      https_egress = bool
      s3_gateway   = bool
    }))
  })
  default = null
}

variable "package_path" {
  description = "Path to the Lambda package built by `make build` (.build/<arch>/pg-cron-job.zip), or null with package_s3_bucket and package_s3_key."
  type        = string
  default     = null

  validation {
    condition     = var.package_path == null || try(endswith(var.package_path, ".zip"), false)
    error_message = "package_path must point at the .zip that `make build` produces (for example .build/x86_64/pg-cron-job.zip)."
  }

  validation {
    condition     = (var.package_path == null) != (var.package_s3_bucket == null)
    error_message = "Give the package once: package_path (a local zip) or package_s3_bucket + package_s3_key (an uploaded one), not both and not neither."
  }
}

variable "package_s3_bucket" {
  description = "Instead of package_path: the bucket holding the package (a CI pipeline's artifact bucket, in the functions' region), with package_s3_key. Terraform's credentials need s3:GetObject on it; Lambda copies the object at create and update."
  type        = string
  default     = null
}

variable "package_s3_key" {
  description = "Key of the package zip in package_s3_bucket. A new key (or package_s3_object_version) deploys new code: Terraform cannot hash an object it does not read."
  type        = string
  default     = null

  validation {
    condition     = (var.package_s3_bucket == null) == (var.package_s3_key == null)
    error_message = "package_s3_bucket and package_s3_key go together: set both (the package from S3) or neither (package_path)."
  }

  validation {
    condition     = var.package_s3_key == null || try(endswith(var.package_s3_key, ".zip"), false)
    error_message = "package_s3_key must name the .zip that `make build` produces (uploaded as it is, e.g. pg-cron-job/<version>/pg-cron-job.zip)."
  }
}

variable "package_s3_object_version" {
  description = "Version id of package_s3_key in a versioned bucket (null: the latest at apply; then a new upload needs a new key to be deployed)."
  type        = string
  default     = null

  validation {
    condition     = var.package_s3_object_version == null || var.package_s3_key != null
    error_message = "package_s3_object_version is the version of package_s3_key: set package_s3_bucket and package_s3_key too."
  }
}

variable "package_listing_path" {
  description = "The package's listing, which `make build` writes beside the zip (`<zip>.files.json`: each file and its SHA-256); the plan checks sql_file against it. null: `<package_path>.files.json`; give it for a package from S3 (the listing of the zip you uploaded), else the plan warns that sql_file was not checked."
  type        = string
  default     = null

  validation {
    condition     = var.package_listing_path == null || try(jsondecode(file(coalesce(var.package_listing_path, "-"))).files != null, false)
    error_message = "package_listing_path ${coalesce(var.package_listing_path, "-")} is not a package listing (make build writes .build/<arch>/pg-cron-job.zip.files.json, JSON with \"files\")."
  }
}

variable "architecture" {
  description = "Instruction set of the package: x86_64 (default) or arm64 (Graviton; build with `make build ARCH=arm64`)."
  type        = string
  default     = "x86_64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\" and match the ARCH the package was built for."
  }
}

variable "memory_size" {
  description = "Lambda memory in MB (the runner needs little; more memory also means more CPU)."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Lambda timeout in seconds. The runner keeps every statement inside it (deadline-bounded statement_timeout)."
  type        = number
  default     = 300
  nullable    = false

  validation {
    # The runner keeps DEADLINE_MARGIN_MS (3 s) before Lambda's deadline to report the result and
    # needs about a second to run anything: below 5 s every run would fail at once.
    condition     = var.timeout >= 5 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 5 to 900: Lambda allows at most 900, and the runner keeps 3 s (DEADLINE_MARGIN_MS) before the deadline to report; for longer purges use repeat_until_zero with continue_on_deadline."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; 1 (default) means at most one run at a time. -1 removes the reservation."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.reserved_concurrent_executions == -1 || var.reserved_concurrent_executions >= 1
    error_message = "reserved_concurrent_executions must be -1 (unreserved) or >= 1; 0 would disable the job."
  }
}

variable "environment" {
  description = "Extra environment variables for the function. Cannot replace the ones the module manages; RUST_LOG comes from log_level."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition = length(setintersection(keys(var.environment), [
      "DB_SECRET_ID", "SQL", "SQL_FILE", "SQL_SHA256", "JOB_NAME", "PGSSLMODE", "PGDATABASE", "PGHOST", "PGPORT", "PGUSER",
      "AUTH_MODE", "TRANSACTION", "STATEMENT_TIMEOUT_MS", "LOCK_TIMEOUT_MS", "ALLOW_OVERLAP", "MAX_RUNTIME_MS",
      "HISTORY_TABLE", "HISTORY_RETENTION_DAYS", "REPEAT_UNTIL_ZERO", "CONTINUE_ON_DEADLINE", "MAX_CONTINUATIONS",
      "DB_CLUSTER_IDENTIFIER", "DB_INSTANCE_IDENTIFIER", "DB_ENDPOINT", "WHEN_DATABASE_UNAVAILABLE", "READ_ONLY", "PGHOSTADDR",
      "EXPORT_S3_URI", "EXPORT_FORMAT", "EXPORT_HEADER", "EXPORT_COMPRESSION", "EXPORT_COMPRESSION_LEVEL", "EXPORT_THREADS",
      "EXPORT_KMS_KEY_ID", "EXPORT_BUCKET_OWNER", "EXPORT_MANIFEST", "PGPASSWORD",
      # The program (_HANDLER) and the names the fleet's watchdog and alarms read: a job's own
      # METRICS_NAMESPACE would publish where neither looks (the job judged late for ever).
      "_HANDLER", "METRICS_NAMESPACE", "WATCH_FLEET", "WATCH_SCHEDULE_GROUPS", "WATCH_PERIOD_SECONDS", "WATCH_DECLARED_PATH", "ROTATION_STRATEGY",
    ])) == 0
    error_message = "environment must not set variables the module manages (use the matching module input instead), the program's (_HANDLER, METRICS_NAMESPACE: the watchdog and the alarms read the fleet's namespace, WATCH_*, ROTATION_STRATEGY) nor PGPASSWORD (keep passwords in the secret)."
  }

  validation {
    condition     = !contains(keys(var.environment), "RUST_LOG")
    error_message = "Do not set RUST_LOG in environment: set log_level instead (for example log_level = \"info,tokio_postgres=debug\"); it sets RUST_LOG and Lambda's application log level together, so debug lines are not filtered out."
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
  nullable    = false

  validation {
    # Tag keys: 1-128 characters, values up to 256, and the aws: prefix is reserved for AWS:
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "function_tags" {
  description = "Extra tags of the Lambda function."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # Tag keys: 1-128 characters, values up to 256, and the aws: prefix is reserved for AWS:
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.function_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "function_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.function_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "role_tags" {
  description = "Extra tags of the function's IAM role."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # Tag keys: 1-128 characters, values up to 256, and the aws: prefix is reserved for AWS:
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.role_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "role_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.role_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "log_group_tags" {
  description = "Extra tags of the log group."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # Tag keys: 1-128 characters, values up to 256, and the aws: prefix is reserved for AWS:
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.log_group_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "log_group_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.log_group_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "alarm_tags" {
  description = "Extra tags of the job's alarms."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # Tag keys: 1-128 characters, values up to 256, and the aws: prefix is reserved for AWS:
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.alarm_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "alarm_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.alarm_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "secret_tags" {
  description = "Extra tags of the created secret."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # Tag keys: 1-128 characters, values up to 256, and the aws: prefix is reserved for AWS:
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.secret_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "secret_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.secret_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

################################################################################
# Job
################################################################################

variable "job_name" {
  description = "JOB_NAME: name in results, logs, metrics (dimension Job), history and the overlap lock. Defaults to the function name."
  type        = string
  default     = null

  validation {
    # The runner's limit (lambda/functions/src/config/mod.rs, MAX_JOB_NAME_CHARS).
    condition     = var.job_name == null || try(length(var.job_name) >= 1 && length(var.job_name) <= 255 && !can(regex("[[:cntrl:]]", var.job_name)), false)
    error_message = "job_name must be 1-255 characters without control characters (the runner refuses longer names at start-up)."
  }
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
  description = "SQL_FILE: path of a .sql file inside the package, relative to its root (`make build SQL_DIR=dir` puts dir/*.sql under sql/). Needs sql_source_path."
  type        = string
  default     = null

  validation {
    condition     = var.sql_file == null || (can(regex("^[A-Za-z0-9_.-][A-Za-z0-9_./-]*\\.sql$", coalesce(var.sql_file, "x.sql"))) && !contains(split("/", coalesce(var.sql_file, "x.sql")), "..") && !contains(split("/", coalesce(var.sql_file, "x.sql")), ""))
    error_message = "sql_file must be a path inside the package, relative to its root (no leading /, no .. or empty segments) and ending in .sql, for example \"sql/purge_events.sql\" (make build SQL_DIR=dir packages dir/*.sql under sql/); got ${jsonencode(var.sql_file)}."
  }
}

variable "sql_source_path" {
  description = "Path of the same SQL file in your repository (for example \"$${path.root}/sql/purge_events.sql\"). Its SHA-256 goes into SQL_SHA256: an edited file shows in the plan of this job, and the runner refuses a package built from another version (rebuild with make build)."
  type        = string
  default     = null

  validation {
    condition     = (var.sql_file == null) == (var.sql_source_path == null)
    error_message = "sql_file needs sql_source_path (the file in your repository, e.g. \"$${path.root}/sql/purge_events.sql\") so that SQL changes show in the plan; sql_source_path only goes with sql_file."
  }

  validation {
    condition     = var.sql_source_path == null || try(fileexists(var.sql_source_path), false)
    error_message = "sql_source_path must name an existing file (paths are relative to the directory terraform runs in; use \"$${path.root}/...\" or \"$${path.module}/...\")."
  }
}

variable "transaction" {
  description = "TRANSACTION: run the whole job in one transaction, rolled back on any error (false: autocommit, so VACUUM works)."
  type        = bool
  default     = false
  nullable    = false
}

variable "statement_timeout_ms" {
  description = "STATEMENT_TIMEOUT_MS: per-statement timeout; the runner never lets it pass the Lambda deadline anyway."
  type        = number
  default     = null

  # The runner's range (lambda/functions/src/contract.rs): PostgreSQL's int milliseconds.
  validation {
    condition     = coalesce(var.statement_timeout_ms, 1) >= 1 && coalesce(var.statement_timeout_ms, 1) <= 2147483647 && floor(coalesce(var.statement_timeout_ms, 1)) == coalesce(var.statement_timeout_ms, 1)
    error_message = "statement_timeout_ms must be a whole number of milliseconds from 1 to 2147483647 (PostgreSQL's limit); leave it null for no limit besides the Lambda deadline."
  }
}

variable "lock_timeout_ms" {
  description = "LOCK_TIMEOUT_MS: how long a statement may wait for a lock."
  type        = number
  default     = null

  # The runner's range (lambda/functions/src/contract.rs): PostgreSQL's int milliseconds.
  validation {
    condition     = coalesce(var.lock_timeout_ms, 1) >= 1 && coalesce(var.lock_timeout_ms, 1) <= 2147483647 && floor(coalesce(var.lock_timeout_ms, 1)) == coalesce(var.lock_timeout_ms, 1)
    error_message = "lock_timeout_ms must be a whole number of milliseconds from 1 to 2147483647 (PostgreSQL's limit); leave it null for no limit."
  }
}

variable "allow_overlap" {
  description = "ALLOW_OVERLAP: let a run start while another run of the same job holds its advisory lock."
  type        = bool
  default     = false
  nullable    = false
}

variable "max_runtime_ms" {
  description = "MAX_RUNTIME_MS: a time budget for the run, shorter than the Lambda timeout."
  type        = number
  default     = null

  # The runner's range (lambda/functions/src/contract.rs): PostgreSQL's int milliseconds.
  validation {
    condition     = coalesce(var.max_runtime_ms, 1) >= 1 && coalesce(var.max_runtime_ms, 1) <= 2147483647 && floor(coalesce(var.max_runtime_ms, 1)) == coalesce(var.max_runtime_ms, 1)
    error_message = "max_runtime_ms must be a whole number of milliseconds from 1 to 2147483647 (PostgreSQL's limit); leave it null to use the Lambda timeout."
  }
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
  nullable    = false

  # The runner's range (lambda/functions/src/contract.rs): beyond 36500 days `now() - interval`
  # leaves PostgreSQL's timestamp range.
  validation {
    condition     = var.history_retention_days >= 0 && var.history_retention_days <= 36500 && floor(var.history_retention_days) == var.history_retention_days
    error_message = "history_retention_days must be a whole number of days from 0 (keep all rows) to 36500."
  }
}

variable "repeat_until_zero" {
  description = "REPEAT_UNTIL_ZERO: repeat the single batched statement until it affects 0 rows or the deadline is near."
  type        = bool
  default     = false
  nullable    = false
}

variable "continue_on_deadline" {
  description = "CONTINUE_ON_DEADLINE: a partial batched run re-invokes the function asynchronously to continue (grants lambda:InvokeFunction on itself only). Needs repeat_until_zero and history_table."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = !var.continue_on_deadline || (var.repeat_until_zero && var.history_table != null)
    error_message = "continue_on_deadline needs repeat_until_zero = true and a history_table (the chain hand-off is recorded there)."
  }
}

variable "max_continuations" {
  description = "MAX_CONTINUATIONS: longest chain of continuations after a scheduled run."
  type        = number
  default     = 10
  nullable    = false

  # The runner's range (lambda/functions/src/contract.rs).
  validation {
    condition     = var.max_continuations >= 0 && var.max_continuations <= 1000 && floor(var.max_continuations) == var.max_continuations
    error_message = "max_continuations must be a whole number from 0 to 1000."
  }
}

variable "log_level" {
  description = "RUST_LOG filter of the runner (trace, debug, info, warn, error, or directives such as \"info,tokio_postgres=debug\"). Lambda's application_log_level follows its most verbose level, so nothing it asks for is dropped."
  type        = string
  default     = "info"
  nullable    = false

  validation {
    condition     = can(regex("^(?i)([A-Za-z0-9_:]+=)?(trace|debug|info|warn|error)(,([A-Za-z0-9_:]+=)?(trace|debug|info|warn|error))*$", var.log_level))
    error_message = "log_level must be a level (trace, debug, info, warn, error) or comma-separated RUST_LOG directives with levels, for example \"info,tokio_postgres=debug\"."
  }
}

variable "grace_minutes" {
  description = "How much later than Scheduler's window (60 s + the flexible window) a run may still start before the watchdog calls the job late; the function's timeout is added for the run's evidence to appear."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.grace_minutes >= 0 && var.grace_minutes <= 1440 && floor(var.grace_minutes) == var.grace_minutes
    error_message = "grace_minutes must be a whole number of minutes from 0 to 1440."
  }
}

################################################################################
# Database connection and credentials
################################################################################

variable "auth_mode" {
  description = "AUTH_MODE: \"secret\" (username/password from Secrets Manager) or \"iam\" (IAM database authentication)."
  type        = string
  default     = "secret"
  nullable    = false

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

  validation {
    # A secret's ARN ends in "-" and six random characters; IAM matches the Resource of the
    # job's GetSecretValue grant exactly, so a name or a partial ARN would never match (and a
    # name is not an ARN at all, which IAM refuses):
    # https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html#auth-and-access_examples_wildcard
    condition     = var.secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", coalesce(var.secret_arn, "x")))
    error_message = "secret_arn must be the secret's full ARN, ending in the 6 characters Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf; data.aws_secretsmanager_secret.<name>.arn gives it for a name): the job's grant names it exactly."
  }
}

variable "create_secret" {
  description = "Create a secret for a dedicated job user; its password is generated ephemerally and written write-only, so it never enters Terraform state."
  type        = bool
  default     = false
  nullable    = false
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
  nullable    = false
}

variable "secret_kms_key_arn" {
  description = "Customer KMS key for the created secret, or the key of the existing secret_arn, such as an RDS-managed master secret's master_user_secret[0].kms_key_id (the function may decrypt with it only via Secrets Manager)."
  type        = string
  default     = null

  validation {
    condition     = var.secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", coalesce(var.secret_kms_key_arn, "x")))
    error_message = "secret_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>); IAM policies do not match a key by alias or bare id."
  }
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the created secret when it is destroyed (0 deletes at once)."
  type        = number
  default     = 7
  nullable    = false
}

variable "rotation_lambda_arn" {
  description = "ARN of the AWS RDS PostgreSQL single-user rotation function (SecretsManagerRDSPostgreSQLRotationSingleUser) for the created secret (create_secret = true). Run it in the jobs' subnets with the shared layer's rotation_security_group_id. null: no rotation."
  type        = string
  default     = null

  validation {
    condition     = var.rotation_lambda_arn == null || var.rotation == null
    error_message = "Set either rotation (the module deploys the rotation function from the same package) or rotation_lambda_arn (a rotation function you bring), not both."
  }

  validation {
    condition     = var.rotation_lambda_arn == null || var.create_secret
    error_message = "rotation_lambda_arn rotates only the secret this module creates (create_secret = true). For an existing secret_arn configure rotation where that secret is managed (RDS rotates its managed master secret itself)."
  }

  validation {
    condition     = var.rotation_lambda_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}$", coalesce(var.rotation_lambda_arn, "x")))
    error_message = "rotation_lambda_arn must be a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)."
  }
}

variable "rotation" {
  description = <<-EOT
    Built-in rotation of the job's secret by a function deployed from the same package (ROTATION_STRATEGY), in the jobs' subnets and security group. null: no built-in rotation.
    strategy: "single-user" (the user changes its own password) or "alternating-users" (a master user alternates the job's user and <user>_clone; needs master_secret_arn).
    schedule: Secrets Manager's rotation schedule, rate(n days), rate(n hours) or cron(...). master_secret_arn: secret of a user allowed to create roles and set passwords (alternating-users only; the function may read it).
    master_secret_kms_key_arn: customer KMS key of the master secret, when it has one (an RDS-managed master secret's master_user_secret[0].kms_key_id).
    Rotates the secret the module creates (create_secret) or the given secret_arn; a secret_arn must not be an RDS-managed master secret (RDS rotates those itself).
  EOT
  # Not an object type, so that a misspelt key (schedul = ...) is refused rather than dropped;
  # the defaults are applied in rotation.tf (local.rotation).
  type    = any
  default = null

  validation {
    condition     = var.rotation == null || can(keys(var.rotation))
    error_message = "rotation must be an object: { strategy = ..., schedule = ..., ... }."
  }

  validation {
    condition     = var.rotation == null || length(setsubtract(try(keys(var.rotation), []), local.rotation_keys)) == 0
    error_message = "rotation has unknown keys (${join(", ", setsubtract(try(keys(var.rotation), []), local.rotation_keys))}); the keys are ${join(", ", local.rotation_keys)}."
  }

  validation {
    condition     = var.rotation == null || contains(["single-user", "alternating-users"], coalesce(try(var.rotation.strategy, null), "single-user"))
    error_message = "rotation.strategy must be \"single-user\" or \"alternating-users\"."
  }

  validation {
    # The alternating users strategy logs in as a master user to create and update the clone:
    # https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html#rotating-secrets-two-users
    condition     = try(var.rotation.strategy, null) != "alternating-users" || try(var.rotation.master_secret_arn, null) != null
    error_message = "rotation.strategy = \"alternating-users\" needs rotation.master_secret_arn: the ARN of a secret whose user may create roles and set passwords (for example aws_db_instance.<name>.master_user_secret[0].secret_arn), or use strategy = \"single-user\"."
  }

  validation {
    condition     = try(var.rotation.master_secret_arn, null) == null || try(var.rotation.strategy, null) == "alternating-users"
    error_message = "rotation.master_secret_arn is used by strategy = \"alternating-users\" only: remove it or set that strategy."
  }

  validation {
    condition     = try(var.rotation.master_secret_arn, null) == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", try(coalesce(var.rotation.master_secret_arn, "x"), "x")))
    error_message = "rotation.master_secret_arn must be the secret's full ARN, ending in the 6 characters Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf): the function's GetSecretValue grant names it exactly."
  }

  validation {
    condition     = try(var.rotation.master_secret_kms_key_arn, null) == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", try(coalesce(var.rotation.master_secret_kms_key_arn, "x"), "x")))
    error_message = "rotation.master_secret_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>); IAM policies do not match a key by alias or bare id."
  }

  validation {
    # Rotation schedules are rate(n hours|days) or cron(); at most every 4 hours:
    # https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
    condition     = var.rotation == null || (can(regex("^(rate\\([1-9][0-9]* (hour|hours|day|days)\\)|cron\\(.+\\))$", coalesce(try(var.rotation.schedule, null), "rate(30 days)"))) && !can(regex("^rate\\([1-3] hours?\\)$", coalesce(try(var.rotation.schedule, null), "rate(30 days)"))))
    error_message = "rotation.schedule must be rate(<n> days), rate(<n> hours) (at least 4 hours) or cron(...), for example \"rate(30 days)\"."
  }

  validation {
    condition     = var.rotation == null || var.create_secret || var.secret_arn != null
    error_message = "rotation needs a secret to rotate: set create_secret = true (the module creates the job user's secret) or secret_arn (a secret you own; not an RDS-managed master secret, which RDS rotates itself)."
  }
}

variable "rotation_days" {
  description = "Rotate the created secret every this many days with rotation_lambda_arn (built-in rotation takes rotation.schedule)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.rotation_days >= 1 && var.rotation_days <= 1000
    error_message = "rotation_days must be between 1 and 1000."
  }
}

variable "database_host" {
  description = "PGHOST: database endpoint; overrides the secret's host and the endpoint found through db_cluster_identifier / db_instance_identifier. Required with create_secret; with auth_mode = \"iam\" unless a db_*_identifier is set."
  type        = string
  default     = null

  validation {
    # A host name or an IP address: a URL's scheme, path or user and a ":port" suffix would be
    # looked up as part of the name (the port is database_port).
    condition     = var.database_host == null || (can(regex("^[A-Za-z0-9][A-Za-z0-9.-]*$", coalesce(var.database_host, "x"))) || can(cidrhost("${coalesce(var.database_host, "::")}/128", 0)))
    error_message = "database_host must be a host name or IP address, for example mydb.cluster-abc123.eu-west-1.rds.amazonaws.com, without a scheme (postgres://), user, path or :port (set database_port, database_name and database_user); got ${jsonencode(var.database_host)}."
  }

  validation {
    condition     = var.auth_mode != "iam" || ((var.database_host != null || var.db_cluster_identifier != null || var.db_instance_identifier != null) && var.database_user != null && var.iam_database_resource_id != null)
    error_message = "auth_mode = \"iam\" needs database_user, iam_database_resource_id (the DbiResourceId or cluster resource id) and the database: database_host, db_cluster_identifier or db_instance_identifier."
  }
}

variable "database_host_address" {
  description = "PGHOSTADDR: connect to this IP address while TLS still verifies the host name (private DNS set-ups). Rarely needed."
  type        = string
  default     = null

  validation {
    condition     = var.database_host_address == null || can(cidrhost("${coalesce(var.database_host_address, "0.0.0.0")}/32", 0)) || can(cidrhost("${coalesce(var.database_host_address, "::")}/128", 0))
    error_message = "database_host_address must be an IP address (PGHOSTADDR), for example 10.0.1.23; put a host name in database_host."
  }
}

variable "db_cluster_identifier" {
  description = "DB_CLUSTER_IDENTIFIER: the Aurora cluster's identifier; the runner finds its endpoint and port with rds:DescribeDBClusters (no database_host needed, so an RDS-managed master secret with only username/password works), reconnects to the writer after a failover and skips runs while the cluster is stopped. Exclusive with db_instance_identifier."
  type        = string
  default     = null

  validation {
    # DB cluster identifiers: 1-63 letters, digits or hyphens, starting with a letter, no
    # trailing hyphen nor two consecutive hyphens:
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html#API_CreateDBCluster_RequestParameters
    condition     = var.db_cluster_identifier == null || (can(regex("^[A-Za-z][A-Za-z0-9-]{0,62}$", coalesce(var.db_cluster_identifier, "x"))) && !endswith(coalesce(var.db_cluster_identifier, "x"), "-") && !strcontains(coalesce(var.db_cluster_identifier, "x"), "--"))
    error_message = "db_cluster_identifier must be the cluster's identifier (1-63 letters, digits or hyphens, starting with a letter, e.g. \"app-aurora\"), not its endpoint or ARN."
  }

  validation {
    condition     = var.db_cluster_identifier == null || var.db_instance_identifier == null
    error_message = "Set either db_cluster_identifier (Aurora) or db_instance_identifier (an RDS instance), not both."
  }
}

variable "db_instance_identifier" {
  description = "DB_INSTANCE_IDENTIFIER: the RDS instance's identifier; the runner finds its endpoint and port with rds:DescribeDBInstances and skips runs while it is stopped. Exclusive with db_cluster_identifier."
  type        = string
  default     = null

  validation {
    # DB instance identifiers follow the same rule:
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html#API_CreateDBInstance_RequestParameters
    condition     = var.db_instance_identifier == null || (can(regex("^[A-Za-z][A-Za-z0-9-]{0,62}$", coalesce(var.db_instance_identifier, "x"))) && !endswith(coalesce(var.db_instance_identifier, "x"), "-") && !strcontains(coalesce(var.db_instance_identifier, "x"), "--"))
    error_message = "db_instance_identifier must be the instance's identifier (1-63 letters, digits or hyphens, starting with a letter, e.g. \"app-db\"), not its endpoint or ARN."
  }
}

variable "db_endpoint" {
  description = "DB_ENDPOINT: \"writer\" (the runner's default) or \"reader\" (the cluster's reader endpoint, for read-only jobs; needs db_cluster_identifier and read_only = true). null: the runner's default."
  type        = string
  default     = null

  validation {
    condition     = var.db_endpoint == null || contains(["writer", "reader"], coalesce(var.db_endpoint, "writer"))
    error_message = "db_endpoint must be \"writer\" or \"reader\"."
  }

  validation {
    condition     = var.db_endpoint != "reader" || (var.db_cluster_identifier != null && var.read_only)
    error_message = "db_endpoint = \"reader\" needs db_cluster_identifier (only Aurora clusters have a reader endpoint) and read_only = true (a reader cannot write)."
  }
}

variable "when_database_unavailable" {
  description = "WHEN_DATABASE_UNAVAILABLE: when the RDS status is stopped, starting, rebooting, maintenance, ...: \"skip\" (the runner's default) reports the run as skipped (reason database_<status>), \"fail\" reports a connect failure. Needs db_cluster_identifier or db_instance_identifier (the status comes from the RDS API). null: the runner's default."
  type        = string
  default     = null

  validation {
    condition     = var.when_database_unavailable == null || contains(["skip", "fail"], coalesce(var.when_database_unavailable, "skip"))
    error_message = "when_database_unavailable must be \"skip\" or \"fail\"."
  }

  validation {
    condition     = var.when_database_unavailable == null || var.db_cluster_identifier != null || var.db_instance_identifier != null
    error_message = "when_database_unavailable needs db_cluster_identifier or db_instance_identifier: the runner learns the database's status from the RDS API."
  }
}

variable "read_only" {
  description = "READ_ONLY: the job only reads, so the runner skips its writer check (without it, a job landing on a reader after an Aurora failover reconnects to the cluster's writer). Set only when true."
  type        = bool
  default     = false
  nullable    = false
}

variable "database_port" {
  description = "PGPORT and the port the security-group rules open."
  type        = number
  default     = 5432
  nullable    = false

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
  description = "For auth_mode = \"iam\": the DB instance's DbiResourceId (db-...) or the Aurora cluster's resource id (cluster-...); rds-db:connect is granted on dbuser:<this>/<database_user> only."
  type        = string
  default     = null

  validation {
    condition     = var.iam_database_resource_id == null || can(regex("^(db|cluster)-[A-Za-z0-9]+$", coalesce(var.iam_database_resource_id, "x")))
    error_message = "iam_database_resource_id must be a resource id, db-... (aws_db_instance.resource_id) or cluster-... (aws_rds_cluster.cluster_resource_id), not the identifier or ARN."
  }

  validation {
    # IAM database authentication for Aurora names the cluster's resource id in rds-db:connect:
    # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
    condition     = var.iam_database_resource_id == null || var.db_cluster_identifier == null || startswith(coalesce(var.iam_database_resource_id, "cluster-"), "cluster-")
    error_message = "With db_cluster_identifier, iam_database_resource_id must be the cluster's resource id (cluster-..., aws_rds_cluster.cluster_resource_id), not an instance's db-... id."
  }
}

variable "ssl_mode" {
  description = "PGSSLMODE: disable, require, verify-ca or verify-full (default; checks the RDS CA bundle shipped in the package and the host name)."
  type        = string
  default     = "verify-full"
  nullable    = false

  validation {
    condition     = contains(["disable", "require", "verify-ca", "verify-full"], var.ssl_mode)
    error_message = "ssl_mode must be one of disable, require, verify-ca, verify-full."
  }
}

################################################################################
# Extraction (export to S3)
################################################################################

variable "export" {
  description = <<-EOT
    Make the job an extraction: its one query (SELECT, WITH, TABLE or VALUES) is streamed to S3 (EXPORT_* variables). null: not an export.
    bucket_arn: the bucket (arn:aws:s3:::name). prefix: where objects go, e.g. "exports/orders/" (no leading '/', ends in '/'); the role may write only there.
    key: object name under prefix, with placeholders {job}, {run_id}, {scheduled_time}, {scheduled_date}; default "{job}/{scheduled_date}/{job}-{scheduled_time}.<csv|txt|jsonl>[.gz]".
    format: csv (default), text or jsonl. header: CSV header line (default true). compression: gzip, zstd or none (default: from the key's .gz/.zst ending; the default key is gzipped unless compression says otherwise).
    compression_level: 1-9 for gzip (default 6), 1-19 for zstd (default 3). threads: compressing threads, 1-64 (default: the function's vCPUs, which grow with memory_size).
    kms_key_arn: SSE-KMS with this key (default SSE-S3). expected_bucket_owner: account id the bucket must belong to. manifest: also write <key>.manifest.json.
  EOT
  # Not an object type: Terraform drops the attributes an object type does not declare, so a
  # misspelt key (formt = "jsonl") would be ignored. The keys are checked below and the defaults
  # applied in main.tf (local.export).
  type    = any
  default = null

  validation {
    condition     = var.export == null || can(keys(var.export))
    error_message = "export must be an object: { bucket_arn = ..., prefix = ..., ... }."
  }

  validation {
    condition     = var.export == null || length(setsubtract(try(keys(var.export), []), local.export_keys)) == 0
    error_message = "export has unknown keys (${join(", ", setsubtract(try(keys(var.export), []), local.export_keys))}); the keys are ${join(", ", local.export_keys)}."
  }

  validation {
    condition     = var.export == null || alltrue([for k in ["header", "manifest"] : can(tobool(try(var.export[k], null)))])
    error_message = "export.header and export.manifest are true or false."
  }

  validation {
    # Bucket names: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    condition     = var.export == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", try(var.export.bucket_arn, "")))
    error_message = "export.bucket_arn must be a bucket ARN, arn:aws:s3:::<bucket-name> (aws_s3_bucket.<name>.arn), not s3://, a bucket name or an object ARN."
  }

  validation {
    condition     = var.export == null || can(regex("^[^/].*/$", try(var.export.prefix, "")))
    error_message = "export.prefix must be a key prefix without a leading '/' that ends in '/', e.g. \"exports/orders/\" (S3 keys do not start with '/'; the trailing '/' keeps the grant off \"exports/orders-other\")."
  }

  validation {
    condition     = var.export == null || !strcontains(try(var.export.prefix, ""), "{") && !strcontains(try(var.export.prefix, ""), "*") && !strcontains(try(var.export.prefix, ""), "?")
    error_message = "export.prefix must be a fixed prefix (no {placeholders} nor * or ?: it is the IAM grant); put placeholders in export.key."
  }

  validation {
    condition     = var.export == null || try(var.export.key, null) == null || length(regexall("[{}]", replace(replace(replace(replace(try(coalesce(var.export.key, "x"), "x"), "{job}", ""), "{run_id}", ""), "{scheduled_time}", ""), "{scheduled_date}", ""))) == 0
    error_message = "export.key has an unknown placeholder or a stray brace: the placeholders are {job}, {run_id}, {scheduled_time} and {scheduled_date}, e.g. \"{job}/{scheduled_date}/{job}-{scheduled_time}.csv.gz\"."
  }

  validation {
    condition     = var.export == null || try(var.export.key, null) == null || (!startswith(try(coalesce(var.export.key, "x"), "x"), "/") && !endswith(try(coalesce(var.export.key, "x"), "x"), "/") && trimspace(try(coalesce(var.export.key, "x"), "x")) != "")
    error_message = "export.key is the object name under export.prefix: no leading or trailing '/' (\"{job}/{scheduled_date}/{job}.csv.gz\", not \"/...\")."
  }

  validation {
    condition     = var.export == null || contains(["csv", "text", "jsonl"], try(coalesce(var.export.format, "csv"), "csv"))
    error_message = "export.format must be \"csv\", \"text\" (COPY's tab-separated format) or \"jsonl\" (one JSON object per row)."
  }

  validation {
    condition     = var.export == null || try(var.export.compression, null) == null || contains(["gzip", "zstd", "none"], try(coalesce(var.export.compression, "none"), "none"))
    error_message = "export.compression must be \"gzip\", \"zstd\" or \"none\" (or null: from the key's .gz / .zst ending)."
  }

  validation {
    # The runner's EXPORT_COMPRESSION_LEVEL range (lambda/functions/src/contract.rs): zstd's
    # levels without its "ultra" window sizes; gzip stops at 9.
    condition = var.export == null || try(var.export.compression_level, null) == null || try(
      var.export.compression_level >= 1 && var.export.compression_level <= 19 && floor(var.export.compression_level) == var.export.compression_level &&
      (var.export.compression_level <= 9 || try(var.export.compression, null) == "zstd" || (try(var.export.compression, null) == null && endswith(try(coalesce(var.export.key, "x"), "x"), ".zst"))),
    false)
    error_message = "export.compression_level must be a whole number, 1-9 for gzip (the default 6) or 1-19 with compression = \"zstd\" (the default 3)."
  }

  validation {
    # The runner's EXPORT_THREADS range (lambda/functions/src/contract.rs).
    condition     = var.export == null || try(var.export.threads, null) == null || try(var.export.threads >= 1 && var.export.threads <= 64 && floor(var.export.threads) == var.export.threads, false)
    error_message = "export.threads must be a whole number 1-64 (null: one per vCPU of the function; Lambda gives a full vCPU per 1,769 MB of memory_size)."
  }

  validation {
    condition     = var.export == null || try(var.export.compression_level, null) == null || try(var.export.compression, null) != "none"
    error_message = "export.compression_level is set but compression = \"none\": drop the level or choose gzip or zstd."
  }

  validation {
    # SSE-KMS multipart uploads need kms:GenerateDataKey and kms:Decrypt on the key, which IAM
    # matches by key ARN only (not an alias):
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
    condition     = var.export == null || try(var.export.kms_key_arn, null) == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", try(coalesce(var.export.kms_key_arn, "x"), "x")))
    error_message = "export.kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>, aws_kms_key.<name>.arn): the role's kms:GenerateDataKey/kms:Decrypt grant names the key, and IAM does not match aliases."
  }

  validation {
    condition     = var.export == null || try(var.export.expected_bucket_owner, null) == null || can(regex("^[0-9]{12}$", try(coalesce(var.export.expected_bucket_owner, "x"), "x")))
    error_message = "export.expected_bucket_owner must be a 12-digit AWS account id (sent as x-amz-expected-bucket-owner)."
  }

  validation {
    condition     = var.export == null || (!var.transaction && !var.repeat_until_zero)
    error_message = "An export runs one query once: set transaction = false and repeat_until_zero = false for a job with export."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "VPC of the database; the function's security group is created there."
  type        = string

  validation {
    # EC2 resource ids are the prefix and 8 or 17 hexadecimal digits:
    # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html
    condition     = can(regex("^vpc-([0-9a-f]{8}|[0-9a-f]{17})$", var.vpc_id))
    error_message = "vpc_id must be a VPC id, vpc-0123456789abcdef0 (module.vpc.vpc_id), not a name or ARN; got ${jsonencode(var.vpc_id)}."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the function (they need a route to Secrets Manager: a NAT gateway or a Secrets Manager endpoint)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids needs at least one subnet (two in different AZs is better)."
  }

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "subnet_ids must be subnet ids, subnet-0123456789abcdef0 (module.vpc.private_subnets), not Name tags or CIDR blocks; refused: ${join(", ", [for id in var.subnet_ids : jsonencode(id) if !can(regex("^subnet-([0-9a-f]{8}|[0-9a-f]{17})$", id))])}."
  }
}

variable "database_security_group_id" {
  description = "Without `shared`: security group of the database; the job's egress goes to it, and with create_database_ingress_rule the module opens it to the job."
  type        = string
  default     = null

  validation {
    condition     = var.database_security_group_id == null || can(regex("^sg-([0-9a-f]{8}|[0-9a-f]{17})$", coalesce(var.database_security_group_id, "x")))
    error_message = "database_security_group_id must be a security group id, sg-0123456789abcdef0 (module.db.security_group_id), not a group name; got ${jsonencode(var.database_security_group_id)}."
  }

  validation {
    condition     = var.shared != null || var.database_security_group_id != null || length(var.database_cidr_blocks) > 0
    error_message = "Tell the module where the database is: database_security_group_id or database_cidr_blocks (or pass the shared layer as shared)."
  }

  validation {
    condition     = var.shared == null || (var.database_security_group_id == null && length(var.database_cidr_blocks) == 0 && !var.create_secretsmanager_endpoint)
    error_message = "With shared, set database_security_group_id, database_cidr_blocks and the Secrets Manager endpoint on the shared layer (modules/pg_cron_job_shared), not per job: one rule on the database and one endpoint serve every job."
  }
}

variable "create_database_ingress_rule" {
  description = "Add an ingress rule on database_security_group_id allowing the function on database_port."
  type        = bool
  default     = true
  nullable    = false

  validation {
    condition     = var.shared != null || !var.create_database_ingress_rule || var.database_security_group_id != null
    error_message = "create_database_ingress_rule needs database_security_group_id; with database_cidr_blocks set create_database_ingress_rule = false and open the database yourself."
  }
}

variable "database_cidr_blocks" {
  description = "CIDR blocks of the database; when set, the function's egress goes to them instead of database_security_group_id."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "https_egress_cidr_blocks" {
  description = "Without `shared`: where the function may reach HTTPS. null: 0.0.0.0/0 without an endpoint (NAT), nothing besides the endpoint otherwise."
  type        = list(string)
  default     = null
}

variable "create_secretsmanager_endpoint" {
  description = "Without `shared`: create a Secrets Manager interface endpoint (private DNS) in subnet_ids for subnets without NAT. A VPC can have only one such endpoint: with several jobs use the shared layer."
  type        = bool
  default     = false
  nullable    = false
}

variable "create_s3_gateway_endpoint" {
  description = "Without `shared`: create an S3 gateway endpoint on s3_gateway_route_table_ids (an export job in private subnets without NAT). With several jobs set it on the shared layer."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = var.shared == null || !var.create_s3_gateway_endpoint
    error_message = "With shared, set create_s3_gateway_endpoint on the shared layer (modules/pg_cron_job_shared or the jobs map): one endpoint serves every job."
  }
}

variable "s3_gateway_route_table_ids" {
  description = "Without `shared`: route tables of subnet_ids, for the S3 gateway endpoint (create_s3_gateway_endpoint = true)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.s3_gateway_route_table_ids : can(regex("^rtb-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "s3_gateway_route_table_ids must be route table ids, rtb-0123456789abcdef0 (module.vpc.private_route_table_ids); refused: ${join(", ", [for id in var.s3_gateway_route_table_ids : jsonencode(id) if !can(regex("^rtb-([0-9a-f]{8}|[0-9a-f]{17})$", id))])}."
  }
}

variable "secretsmanager_endpoint_security_group_id" {
  description = "Without `shared`: security group of the VPC's existing Secrets Manager endpoint; the module admits the job on 443 there."
  type        = string
  default     = null

  validation {
    condition     = var.secretsmanager_endpoint_security_group_id == null || can(regex("^sg-([0-9a-f]{8}|[0-9a-f]{17})$", coalesce(var.secretsmanager_endpoint_security_group_id, "x")))
    error_message = "secretsmanager_endpoint_security_group_id must be a security group id, sg-0123456789abcdef0, not a group name; got ${jsonencode(var.secretsmanager_endpoint_security_group_id)}."
  }

  validation {
    condition     = !(var.create_secretsmanager_endpoint && var.secretsmanager_endpoint_security_group_id != null)
    error_message = "Set either create_secretsmanager_endpoint = true or secretsmanager_endpoint_security_group_id (an existing endpoint), not both: a VPC holds only one Secrets Manager endpoint with private DNS."
  }
}

################################################################################
# Schedule
################################################################################

variable "schedule_expression" {
  description = "EventBridge Scheduler expression: cron(m h dom mon dow y), rate(n unit) or at(yyyy-mm-ddThh:mm:ss)."
  type        = string

  # https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
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

  validation {
    # Both '?' is refused by Scheduler too (one of the two day fields must say which days).
    condition     = !can(regex("^cron\\(\\S+ \\S+ \\? \\S+ \\? \\S+\\)$", var.schedule_expression))
    error_message = "cron() has '?' in both day fields: put * (or the days) in day-of-month or day-of-week, e.g. cron(0 2 * * ? *)."
  }

  validation {
    # Field by field, so the message names the field (and no regular expression is printed).
    condition     = !can(regex("^cron\\(\\S+ \\S+ \\S+ \\S+ \\S+ \\S+\\)$", var.schedule_expression)) || alltrue([for i, f in split(" ", substr(var.schedule_expression, 5, length(var.schedule_expression) - 6)) : can(regex("^(?i)(${local.cron_checks[i].pattern})$", f))])
    error_message = "cron() field out of range: ${join("; ", [for i, f in split(" ", substr(var.schedule_expression, 5, length(var.schedule_expression) - 6)) : "${local.cron_checks[i].name} is ${f}, not ${local.cron_checks[i].range}" if !can(regex("^(?i)(${local.cron_checks[i].pattern})$", f))])}. A field is *, a value, a range a-b, a list a,b or a step x/n, e.g. cron(30 2 * * ? *)."
  }

  validation {
    condition = try(!(
      can(regex("^cron\\(\\S+ \\S+ [0-9]+(,[0-9]+)* [0-9A-Za-z]+(,[0-9A-Za-z]+)* \\S+ \\S+\\)$", var.schedule_expression)) &&
      alltrue([for d in split(",", split(" ", var.schedule_expression)[2]) : alltrue([for m in split(",", upper(split(" ", var.schedule_expression)[3])) : tonumber(d) > lookup(local.cron_month_days, m, 31)])])
    ), true)
    error_message = "This cron() never fires: day-of-month ${try(split(" ", var.schedule_expression)[2], "")} does not exist in month ${try(split(" ", var.schedule_expression)[3], "")}. Use L for the last day of the month."
  }

  # A schedule with nothing left to run (its year or its at() time is past) would never invoke
  # the job while its late alarm waited for it. at() is read in its time zone: past means past
  # even at UTC-12.
  validation {
    # (plantimestamp() is unknown during validate, which then skips this check.)
    condition = startswith(var.schedule_expression, "rate(") || try(
      startswith(var.schedule_expression, "cron(")
      ? max([for y in flatten([for part in split(",", trimsuffix(split(" ", var.schedule_expression)[5], ")")) : split("-", part)]) : tonumber(y)]...) >= tonumber(formatdate("YYYY", plantimestamp()))
      : timecmp(timeadd("${substr(var.schedule_expression, 3, 19)}Z", "12h"), plantimestamp()) >= 0,
    true)
    error_message = "${var.schedule_expression} is in the past: the schedule would never run again. Set a future time (or remove the job once it has run)."
  }

  validation {
    condition     = !can(regex("^rate\\(", var.schedule_expression)) || can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.schedule_expression))
    error_message = "rate() takes a singular unit for 1 and a plural unit otherwise: rate(1 hour), rate(5 minutes)."
  }

  validation {
    condition     = !can(regex("^at\\(", var.schedule_expression)) || can(regex("^at\\([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\)$", var.schedule_expression))
    error_message = "at() needs a real date and time, at(yyyy-mm-ddThh:mm:ss), for example at(2026-12-31T23:00:00)."
  }

  # A one-time schedule at a local time the clocks skip that day never happens (EventBridge
  # Scheduler skips a non-existent local time: "your schedule invocation gets skipped if the cron
  # expression falls on a non-existent date and time", AWS knowledge center, "EventBridge Scheduler
  # and daylight saving time"): the one run would be lost. The gaps are dst.tf's table
  # (test/gen_dst.py, 2026-2031): [local date, "skipped", from HHMM, to HHMM).
  validation {
    condition = try(length([for t in lookup(local.dst_transitions, var.schedule_timezone, []) : t if(
      t[1] == "skipped" && t[0] == substr(var.schedule_expression, 3, 10) &&
      t[2] <= tonumber(substr(var.schedule_expression, 14, 2)) * 100 + tonumber(substr(var.schedule_expression, 17, 2)) &&
      tonumber(substr(var.schedule_expression, 14, 2)) * 100 + tonumber(substr(var.schedule_expression, 17, 2)) < t[3]
    )]) == 0 || !startswith(var.schedule_expression, "at("), true)
    error_message = join("", [for t in lookup(local.dst_transitions, var.schedule_timezone, []) : format(
      "schedule_expression %s never happens in %s (schedule_timezone): on %s the clocks go forward and the local times from %02d:%02d to %02d:%02d do not exist, so EventBridge Scheduler would never run this one-time job. Give a time outside the gap, e.g. at(%sT%02d:%02d:00) (its end), or a UTC time with schedule_timezone = \"UTC\" (no daylight saving).",
      var.schedule_expression, var.schedule_timezone, t[0], floor(t[2] / 100), t[2] % 100, floor(t[3] / 100) % 24, t[3] % 100, t[3] >= 2400 ? formatdate("YYYY-MM-DD", timeadd("${t[0]}T00:00:00Z", "24h")) : t[0], floor(t[3] / 100) % 24, t[3] % 100
      ) if try(t[1] == "skipped" && t[0] == substr(var.schedule_expression, 3, 10) &&
      t[2] <= tonumber(substr(var.schedule_expression, 14, 2)) * 100 + tonumber(substr(var.schedule_expression, 17, 2)) &&
    tonumber(substr(var.schedule_expression, 14, 2)) * 100 + tonumber(substr(var.schedule_expression, 17, 2)) < t[3], false)])
  }
}

variable "schedule_timezone" {
  description = "IANA time zone of the schedule (for example Europe/Rome, CET, Etc/GMT+5); cron times follow its daylight-saving changes."
  type        = string
  default     = "UTC"
  nullable    = false

  validation {
    condition     = contains(local.iana_time_zones, var.schedule_timezone)
    error_message = "schedule_timezone must be an IANA time zone name (case-sensitive), such as UTC, Europe/Rome, America/New_York, CET or Etc/GMT+5; see the list in the module's timezones.tf."
  }
}

variable "schedule_enabled" {
  description = "Whether the schedule fires (false pauses the job without destroying it)."
  type        = bool
  default     = true
  nullable    = false
}

variable "schedule_group_name" {
  description = "EventBridge Scheduler group of the schedule: \"default\", a group of the fleet (`shared.schedule_groups`; the jobs map creates its own) or one listed in existing_schedule_groups. The module creates no group."
  type        = string
  default     = "default"
  nullable    = false

  validation {
    # CreateSchedule fails at apply for a group that does not exist, and the provider has no data
    # source to look one up: the group must be one someone declared.
    condition     = var.schedule_group_name == "default" || contains(var.existing_schedule_groups, var.schedule_group_name) || (var.shared != null && contains(try(coalesce(var.shared.schedule_groups, []), []), var.schedule_group_name))
    error_message = "schedule_group_name ${jsonencode(var.schedule_group_name)} is neither \"default\" nor a group this configuration declares: create it (resource \"aws_scheduler_schedule_group\") and list it in existing_schedule_groups, or leave the job in the fleet's group (the jobs map creates one per fleet)."
  }
}

variable "existing_schedule_groups" {
  description = "EventBridge Scheduler groups made outside this module that schedule_group_name may name (for example [aws_scheduler_schedule_group.<name>.name])."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "flexible_time_window_minutes" {
  description = "Let Scheduler start the run up to this many minutes late to spread load (null: exactly on time)."
  type        = number
  default     = null

  validation {
    condition     = var.flexible_time_window_minutes == null || (coalesce(var.flexible_time_window_minutes, 1) >= 1 && coalesce(var.flexible_time_window_minutes, 1) <= 1440)
    error_message = "flexible_time_window_minutes must be between 1 and 1440, or null for an exact start."
  }

  validation {
    # A window longer than the time between two starts lets a start's run come after the next
    # start's: the runs of consecutive starts overlap or swap (schedule_gap.tf computes the gap).
    condition     = var.flexible_time_window_minutes == null || local.schedule_min_gap_minutes == null || coalesce(var.flexible_time_window_minutes, 0) <= coalesce(local.schedule_min_gap_minutes, 1440)
    error_message = "flexible_time_window_minutes = ${coalesce(var.flexible_time_window_minutes, 0)} is longer than the ${coalesce(local.schedule_min_gap_minutes, 0)} minutes between two starts of ${var.schedule_expression}: a run could start after the next start. Make the window at most ${coalesce(local.schedule_min_gap_minutes, 0)} minutes."
  }
}

variable "schedule_start_date" {
  description = "First time the schedule may fire (RFC 3339, e.g. 2026-01-01T00:00:00Z)."
  type        = string
  default     = null

  validation {
    condition     = var.schedule_start_date == null || can(timecmp(coalesce(var.schedule_start_date, "2000-01-01T00:00:00Z"), "2000-01-01T00:00:00Z"))
    error_message = "schedule_start_date must be an RFC 3339 time such as 2026-01-01T00:00:00Z; got ${jsonencode(var.schedule_start_date)}."
  }
}

variable "schedule_end_date" {
  description = "Last time the schedule may fire (RFC 3339)."
  type        = string
  default     = null

  validation {
    condition     = var.schedule_end_date == null || can(timecmp(coalesce(var.schedule_end_date, "2000-01-01T00:00:00Z"), "2000-01-01T00:00:00Z"))
    error_message = "schedule_end_date must be an RFC 3339 time such as 2027-01-01T00:00:00Z; got ${jsonencode(var.schedule_end_date)}."
  }

  validation {
    condition     = try(var.schedule_start_date == null || var.schedule_end_date == null || timecmp(var.schedule_start_date, var.schedule_end_date) < 0, true)
    error_message = "schedule_start_date (${coalesce(var.schedule_start_date, "-")}) is not before schedule_end_date (${coalesce(var.schedule_end_date, "-")}): the schedule would never fire. Swap them or drop one."
  }

  validation {
    # Like a past at(): a schedule that ended never runs again while its watch waits.
    # (plantimestamp() is unknown during validate, which then skips this check.)
    condition     = try(var.schedule_end_date == null || timecmp(var.schedule_end_date, plantimestamp()) > 0, true)
    error_message = "schedule_end_date ${coalesce(var.schedule_end_date, "-")} is in the past: the schedule would never run again. Set a future end date, drop it, or remove the job once it has ended."
  }
}

variable "retry_attempts" {
  description = "Scheduler retries of a failed delivery. 0 by default: a job is not idempotent unless you say so."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.retry_attempts >= 0 && var.retry_attempts <= 185
    error_message = "retry_attempts must be between 0 and 185."
  }
}

variable "maximum_event_age_seconds" {
  description = "A run not started within this many seconds is dropped to the failures queue (Scheduler's delivery and Lambda's asynchronous queue)."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    # Lambda's asynchronous queue keeps events at most 6 hours (Scheduler would allow 24):
    # https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html#lambda-PutFunctionEventInvokeConfig-request-MaximumEventAgeInSeconds
    condition     = var.maximum_event_age_seconds >= 60 && var.maximum_event_age_seconds <= 21600
    error_message = "maximum_event_age_seconds must be between 60 and 21600 (Lambda keeps asynchronous events at most 6 hours)."
  }
}

################################################################################
# Observability
################################################################################

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the function's log group, in days (0: never expire)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    # CloudWatch Logs' retention values; 0 keeps the events forever (the provider leaves the
    # retention unset): https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be 0 (never expire) or a CloudWatch Logs retention value: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_kms_key_arn" {
  description = "Customer KMS key for the log group (its key policy must allow logs.<region>.amazonaws.com). null: CloudWatch Logs encryption."
  type        = string
  default     = null

  validation {
    # CloudWatch Logs takes the key's ARN, not its id or alias:
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html#CWL-CreateLogGroup-request-kmsKeyId
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.log_kms_key_arn, "x")))
    error_message = "log_kms_key_arn must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (aws_kms_key.<name>.arn), not a key id or alias; got ${jsonencode(var.log_kms_key_arn)}."
  }
}

variable "create_alarm_topic" {
  description = "Without `shared`: create an SNS topic for the alarms, encrypted with a customer key CloudWatch may use (false: give alarm_topic_arn or none)."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_kms_key" {
  description = "Without `shared`: create a customer-managed KMS key for the alarm topic and the failures queue (false: alarm_kms_key_arn or AWS owned encryption)."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_kms_key_arn" {
  description = "Without `shared`: your customer-managed KMS key for the alarm topic and the failures queue (create_kms_key = false); its policy needs the statements in the module README."
  type        = string
  default     = null
}

variable "alarm_topic_arn" {
  description = "Without `shared`: existing SNS topic for the alarms (create_alarm_topic = false)."
  type        = string
  default     = null

  validation {
    condition     = !(var.create_alarm_topic && var.alarm_topic_arn != null)
    error_message = "Set either create_alarm_topic = true or alarm_topic_arn, not both."
  }
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the created alarm topic."
  type        = list(string)
  default     = []
  nullable    = false

  # SNS e-mail endpoints are addresses; a malformed one fails Subscribe at apply:
  # https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s.]+$", e))])
    error_message = "alarm_emails must be e-mail addresses (name@example.com); got ${join(", ", [for e in var.alarm_emails : jsonencode(e) if !can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s.]+$", e))])}."
  }
}

locals {
  # EventBridge Scheduler cron fields and their ranges:
  # https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based
  cron_list    = "(\\*|%[1]s(-%[1]s)?)(/[0-9]+)?(,(\\*|%[1]s(-%[1]s)?)(/[0-9]+)?)*"
  cron_minute  = format(local.cron_list, "[0-5]?[0-9]")
  cron_hour    = format(local.cron_list, "([01]?[0-9]|2[0-3])")
  cron_dom     = "(\\?|L|LW|([1-9]|[12][0-9]|3[01])W|${format(local.cron_list, "([1-9]|[12][0-9]|3[01])")})"
  cron_month   = format(local.cron_list, "([1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)")
  cron_weekday = "([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)"
  cron_dow     = "(\\?|L|${local.cron_weekday}L|${local.cron_weekday}#[1-5]|${format(local.cron_list, local.cron_weekday)})"
  cron_year    = format(local.cron_list, "(19[7-9][0-9]|2[01][0-9][0-9])")

  # The six fields of a cron() expression, checked one by one (the messages name the field).
  cron_checks = [
    { name = "minutes", range = "0-59", pattern = local.cron_minute },
    { name = "hours", range = "0-23", pattern = local.cron_hour },
    { name = "day-of-month", range = "1-31, ?, L, LW or nW", pattern = local.cron_dom },
    { name = "month", range = "1-12 or JAN-DEC", pattern = local.cron_month },
    { name = "day-of-week", range = "1-7 or SUN-SAT, ?, L, nL or n#k", pattern = local.cron_dow },
    { name = "year", range = "1970-2199", pattern = local.cron_year },
  ]
  # Days of month that exist in a month (29 for February: it fires in leap years).
  cron_month_days = { "1" = 31, "2" = 29, "3" = 31, "4" = 30, "5" = 31, "6" = 30, "7" = 31, "8" = 31, "9" = 30, "10" = 31, "11" = 30, "12" = 31,
  JAN = 31, FEB = 29, MAR = 31, APR = 30, MAY = 31, JUN = 30, JUL = 31, AUG = 31, SEP = 30, OCT = 31, NOV = 30, DEC = 31 }
}

################################################################################
# IAM guardrails (every role the module creates)
################################################################################

variable "create_role" {
  description = "Create the function's execution role (with its least-privilege policy). false: use role_arn, for example one role shared by a fleet (the jobs map's role_per_job = false); output role_policy_json is then the policy that role needs for this job."
  type        = bool
  default     = true
  nullable    = false
}

variable "role_arn" {
  description = "The execution role of the function when create_role = false (its policy must grant what output role_policy_json lists)."
  type        = string
  default     = null

  validation {
    condition     = var.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.role_arn, "x")))
    error_message = "role_arn must be an IAM role ARN, arn:aws:iam::<account>:role/<name> (aws_iam_role.<name>.arn)."
  }

  validation {
    condition     = var.create_role || var.role_arn != null
    error_message = "create_role = false needs role_arn: the execution role to use (its policy must grant what output role_policy_json lists)."
  }
}

variable "role_policy_type" {
  description = "How the module's own permissions reach the roles it creates: \"inline\" (an inline policy per role) or \"managed\" (a customer managed policy per role, attached; for SCPs that deny iam:PutRolePolicy). With \"managed\", add your own permissions with role_policy_arns, not role_inline_policy."
  type        = string
  default     = "inline"
  nullable    = false

  validation {
    condition     = contains(["inline", "managed"], var.role_policy_type)
    error_message = "role_policy_type must be \"inline\" or \"managed\"."
  }

  validation {
    condition     = var.role_policy_type == "inline" || var.role_inline_policy == null
    error_message = "role_policy_type = \"managed\" creates no inline policy, and role_inline_policy is one: put that document in an aws_iam_policy and give its ARN in role_policy_arns."
  }

  validation {
    # The module's own managed policy is one of a role's at most 20 (10 by default):
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities
    condition     = var.role_policy_type == "inline" || length(var.role_policy_arns) <= 19
    error_message = "role_policy_type = \"managed\" attaches the module's own policy besides role_policy_arns, and a role takes at most 20 managed policies: give at most 19 ARNs."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of a managed policy set as the permissions boundary of every role the module creates: the job's, the rotation function's and, without `shared`, its own scheduler and watchdog roles (SCPs that deny iam:CreateRole without one). null: none."
  type        = string
  default     = null

  validation {
    # A permissions boundary is a managed policy, named by its ARN:
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html#API_CreateRole_RequestParameters
    condition     = var.role_permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", coalesce(var.role_permissions_boundary, "x")))
    error_message = "role_permissions_boundary must be a managed policy ARN, arn:aws:iam::<account>:policy/<name> (aws_iam_policy.<name>.arn), not a policy name or JSON."
  }
}

variable "role_path" {
  description = "IAM path of every role the module creates (for example \"/pg-cron-job/\")."
  type        = string
  default     = "/"
  nullable    = false

  validation {
    # Path: "/" or "/.../", 1-512 characters from '!' to DEL:
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html#API_CreateRole_RequestParameters
    condition     = length(var.role_path) <= 512 && can(regex("^(/|/[\\x{21}-\\x{7F}]+/)$", var.role_path))
    error_message = "role_path must be \"/\" or start and end with '/' (for example \"/pg-cron-job/\"), at most 512 characters, no spaces."
  }
}

variable "role_policy_arns" {
  description = "Managed policy ARNs attached to every role the module creates, besides its own inline policy."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.role_policy_arns : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", a))])
    error_message = "role_policy_arns must be managed policy ARNs (arn:aws:iam::<account>:policy/<name> or arn:aws:iam::aws:policy/<name>); put a JSON document in role_inline_policy."
  }

  validation {
    # Managed policies per role: 10 by default, at most 20 with a quota increase:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities
    condition     = length(var.role_policy_arns) <= 20
    error_message = "role_policy_arns: IAM attaches at most 20 managed policies to a role (10 unless the quota was raised); combine some of them."
  }
}

variable "role_inline_policy" {
  description = "An extra inline policy (JSON, e.g. data.aws_iam_policy_document.<name>.json) added to every role the module creates, as the policy \"extra\". Must be known at plan (it sets a count). The role's inline policies together may have 10,240 characters (without whitespace)."
  type        = string
  default     = null

  validation {
    condition     = var.role_inline_policy == null || can(jsondecode(var.role_inline_policy).Statement)
    error_message = "role_inline_policy must be an IAM policy JSON document with a Statement (data.aws_iam_policy_document.<name>.json or jsonencode({ Version = \"2012-10-17\", Statement = [...] }))."
  }
}
