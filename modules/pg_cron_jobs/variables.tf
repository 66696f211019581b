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
  description = "Path to the Lambda package built by `make build` (a job may override it), or null with package_s3_bucket and package_s3_key."
  type        = string
  default     = null
}

variable "package_s3_bucket" {
  description = "Instead of package_path: the bucket of the uploaded package, with package_s3_key (see modules/pg_cron_job)."
  type        = string
  default     = null
}

variable "package_s3_key" {
  description = "Key of the package zip in package_s3_bucket; a new key (or version) deploys new code."
  type        = string
  default     = null
}

variable "package_s3_object_version" {
  description = "Version id of package_s3_key in a versioned bucket."
  type        = string
  default     = null
}

variable "package_listing_path" {
  description = "The listing make build wrote beside the package (`<zip>.files.json`), for a package from S3: each job's sql_file is then checked at plan (a job may override it; with package_path it is found beside the zip)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource (a job's tags are added to its own resources)."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "defaults" {
  description = "Values for every job that does not set them (the same attributes as a jobs entry)."
  type        = any
  default     = {}
  nullable    = false

  validation {
    condition     = !contains(keys(var.defaults), "rotation")
    error_message = "rotation cannot be a default (every job would rotate the same secret): set rotation on the job that creates its secret (create_secret = true) or names it (secret_arn)."
  }

  validation {
    condition     = !contains(keys(var.defaults), "export")
    error_message = "export cannot be a default (it would make every job an extraction): set export on the jobs entries that export."
  }

  validation {
    condition     = !contains(keys(var.defaults), "expected_interval_seconds")
    error_message = "expected_interval_seconds was removed in 0.3 (defaults): delete it. The fleet's watchdog now gives every job a late alarm whatever its schedule; grace_minutes (default 5) is how much later a run may start."
  }

  validation {
    condition     = length(setsubtract(keys(var.defaults), local.known_attributes)) == 0
    error_message = "Unknown attribute(s) in defaults (misspelt?): ${join(", ", setsubtract(keys(var.defaults), local.known_attributes))}. Known: ${join(", ", local.job_attributes)}."
  }
}

variable "jobs" {
  description = "The jobs, by key: each entry takes the inputs of modules/pg_cron_job listed in the README (an unknown or misspelt attribute fails at plan; types are checked by the job module). schedule_expression and one of sql / sql_file + sql_source_path are needed per job or in defaults."
  type        = any

  # Removed in 0.3 (docs/CHANGELOG.md, upgrade notes): said here rather than as "misspelt".
  validation {
    condition     = alltrue([for k, j in var.jobs : !contains(keys(j), "expected_interval_seconds")])
    error_message = "expected_interval_seconds was removed in 0.3 (jobs ${join(", ", [for k, j in var.jobs : k if contains(keys(j), "expected_interval_seconds")])}): delete it. The fleet's watchdog now gives every job a late alarm whatever its schedule; grace_minutes (default 5) is how much later a run may start."
  }

  # Terraform silently drops attributes an object type does not declare, so a typed
  # map(object(...)) would ignore a misspelt attribute: the attribute names are checked here.
  validation {
    condition     = alltrue([for k, j in var.jobs : length(setsubtract(keys(j), local.known_attributes)) == 0])
    error_message = "Unknown job attribute(s) (misspelt?): ${join(", ", flatten([for k, j in var.jobs : [for a in setsubtract(keys(j), local.known_attributes) : "${k}.${a}"]]))}. Known: ${join(", ", local.job_attributes)}."
  }

  validation {
    # A secret shared through defaults.secret_arn belongs to no one job: rotate it where it is
    # created, or on one job that names it.
    condition     = alltrue([for k, j in var.jobs : try(j.rotation, null) == null || try(j.secret_arn, null) != null || (try(j.create_secret, null) != null ? j.create_secret == true : try(var.defaults.create_secret, false) == true)])
    error_message = "A job with rotation must own its secret: create_secret = true or its own secret_arn (not inherited from defaults). Jobs ${join(", ", [for k, j in var.jobs : k if try(j.rotation, null) != null && try(j.secret_arn, null) == null && !(try(j.create_secret, null) != null ? j.create_secret == true : try(var.defaults.create_secret, false) == true)])}."
  }

  validation {
    # A secret has one rotation configuration:
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
    condition     = length([for k, j in var.jobs : j.secret_arn if try(j.rotation, null) != null && try(j.secret_arn, null) != null]) == length(distinct([for k, j in var.jobs : j.secret_arn if try(j.rotation, null) != null && try(j.secret_arn, null) != null]))
    error_message = "Two jobs rotate the same secret_arn: set rotation on one of them only (the other jobs keep reading the rotated secret)."
  }

  validation {
    condition     = alltrue([for k in keys(var.jobs) : can(regex("^[A-Za-z0-9_-]+$", k))])
    error_message = "jobs keys must be letters, digits, '-' or '_' (they name the functions \"<name>-<key>\"): ${join(", ", [for k in keys(var.jobs) : jsonencode(k) if !can(regex("^[A-Za-z0-9_-]+$", k))])}."
  }

  validation {
    # Lambda function names are at most 64 characters:
    # https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-FunctionName
    condition     = alltrue([for k, j in var.jobs : try(j.name, null) != null || length("${var.name}-${k}") <= 64])
    error_message = "Job keys too long: ${join(", ", [for k, j in var.jobs : "${k} (${length(k)} characters)" if try(j.name, null) == null && length("${var.name}-${k}") > 64])}. The function is named \"<name>-<key>\", at most 64 characters (Lambda's limit): keys of this fleet may have ${63 - length(var.name)}; shorten the key or give the job a name."
  }

  validation {
    condition     = length(distinct([for k, j in var.jobs : try(j.name, null) != null ? j.name : "${var.name}-${k}"])) == length(var.jobs)
    error_message = "Two jobs would get the same function name: give them different keys or names."
  }

  validation {
    # The job name is the overlap lock's key, the metrics' Job dimension and the watchdog's
    # evidence: two jobs of one name would block each other and count each other's runs.
    condition     = length(distinct([for k, j in var.jobs : coalesce(try(j.job_name, null), try(var.defaults.job_name, null), try(j.name, null) != null ? j.name : format("%s-%s", var.name, k))])) == length(var.jobs)
    error_message = "Jobs share a job_name: ${join(", ", [for k, j in var.jobs : "${k} (${coalesce(try(j.job_name, null), try(var.defaults.job_name, null), try(j.name, null) != null ? j.name : format("%s-%s", var.name, k))})" if length([for k2, j2 in var.jobs : k2 if coalesce(try(j2.job_name, null), try(var.defaults.job_name, null), try(j2.name, null) != null ? j2.name : format("%s-%s", var.name, k2)) == coalesce(try(j.job_name, null), try(var.defaults.job_name, null), try(j.name, null) != null ? j.name : format("%s-%s", var.name, k))]) > 1])}. Give each its own job_name (or drop it: the default is the function name); the job name keys the overlap lock, the metrics and the watchdog's evidence."
  }

  validation {
    # CreateSchedule fails at apply for a group that does not exist (the provider has no data
    # source to look one up): a job's group is the fleet's, "default" or one declared existing.
    # (The job's name and group are written out here as main.tf's locals compute them: a
    # validation of var.jobs cannot read locals made from var.jobs.)
    condition     = alltrue([for k, j in var.jobs : contains(concat([var.create && var.create_schedule_group ? var.name : "default", "default"], var.existing_schedule_groups), coalesce(try(j.schedule_group_name, null), try(var.defaults.schedule_group_name, null), var.create && var.create_schedule_group ? var.name : "default"))])
    error_message = "schedule_group_name of jobs ${join(", ", [for k, j in var.jobs : "${k} (${jsonencode(coalesce(try(j.schedule_group_name, null), try(var.defaults.schedule_group_name, null), var.create && var.create_schedule_group ? var.name : "default"))})" if !contains(concat([var.create && var.create_schedule_group ? var.name : "default", "default"], var.existing_schedule_groups), coalesce(try(j.schedule_group_name, null), try(var.defaults.schedule_group_name, null), var.create && var.create_schedule_group ? var.name : "default"))])} is not a group this configuration declares: leave it unset (the fleet's own group), or create the group (resource \"aws_scheduler_schedule_group\") and list it in existing_schedule_groups."
  }
}

variable "existing_schedule_groups" {
  description = "EventBridge Scheduler groups made outside the map that a job's schedule_group_name may name (for example [aws_scheduler_schedule_group.<name>.name]); the fleet's own group and \"default\" need no entry."
  type        = list(string)
  default     = []
  nullable    = false
}

locals {
  # The attributes a jobs entry (or defaults) may set: the per-job inputs of modules/pg_cron_job.
  job_attributes = [
    "name",
    "job_name",
    "sql",
    "sql_file",
    "sql_source_path",
    "schedule_expression",
    "schedule_timezone",
    "schedule_enabled",
    "schedule_group_name",
    "flexible_time_window_minutes",
    "schedule_start_date",
    "schedule_end_date",
    "retry_attempts",
    "maximum_event_age_seconds",
    "transaction",
    "statement_timeout_ms",
    "lock_timeout_ms",
    "allow_overlap",
    "max_runtime_ms",
    "history_table",
    "history_retention_days",
    "repeat_until_zero",
    "continue_on_deadline",
    "max_continuations",
    "log_level",
    "grace_minutes",
    "environment",
    "memory_size",
    "timeout",
    "reserved_concurrent_executions",
    "package_path",
    "package_s3_bucket",
    "package_s3_key",
    "package_s3_object_version",
    "package_listing_path",
    "architecture",
    "auth_mode",
    "secret_arn",
    "secret_kms_key_arn",
    "create_secret",
    "secret_username",
    "secret_password_version",
    "secret_recovery_window_days",
    "rotation_lambda_arn",
    "rotation_days",
    "rotation",
    "database_host",
    "database_name",
    "database_user",
    "iam_database_resource_id",
    "ssl_mode",
    "log_retention_days",
    "log_kms_key_arn",
    "kms_key_arn",
    "tags",
    "database_host_address",
    "db_cluster_identifier",
    "db_instance_identifier",
    "db_endpoint",
    "when_database_unavailable",
    "read_only",
    "export",
    "role_permissions_boundary",
    "role_path",
    "role_policy_arns",
    "role_inline_policy",
    "function_tags",
    "role_tags",
    "log_group_tags",
    "alarm_tags",
    "secret_tags",
  ]
  # Removed inputs have their own message (above), not "misspelt".
  known_attributes = concat(local.job_attributes, ["expected_interval_seconds"])
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

variable "create_s3_gateway_endpoint" {
  description = "Create an S3 gateway endpoint on s3_gateway_route_table_ids (extraction jobs in private subnets without NAT)."
  type        = bool
  default     = false
  nullable    = false
}

variable "s3_gateway_route_table_ids" {
  description = "Route tables of the jobs' subnets, for the S3 gateway endpoint."
  type        = list(string)
  default     = []
  nullable    = false
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

  # SNS e-mail endpoints are addresses; a malformed one fails Subscribe at apply:
  # https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s.]+$", e))])
    error_message = "alarm_emails must be e-mail addresses (name@example.com); got ${join(", ", [for e in var.alarm_emails : jsonencode(e) if !can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s.]+$", e))])}."
  }
}

################################################################################
# Watchdog and dashboard (the shared layer's)
################################################################################

variable "create_watchdog" {
  description = "Create the fleet's watchdog (`<name>-watchdog`) and each job's late alarm: a start without a run pages, whatever the schedule."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_schedule_group" {
  description = "Create the fleet's own EventBridge Scheduler group, named after the fleet (`name`), for the jobs that set no schedule_group_name: the watchdog then lists only the fleet's groups, not the whole default group. false: those jobs go to \"default\"."
  type        = bool
  default     = true
  nullable    = false
}

variable "declared_jobs" {
  description = "Further jobs the fleet's watchdog expects, besides the map's own (which the module declares itself): job name -> \"<schedule group>/<schedule name>\", for schedules made outside the map that carry this fleet's `watch` object. A declared job whose schedule is missing is late (\"missing\")."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "watchdog_schedule_expression" {
  description = "How often the watchdog checks: rate(N minutes), N from 1 to 60."
  type        = string
  default     = "rate(5 minutes)"
  nullable    = false

  validation {
    # Scheduler's rate unit is singular for 1 and plural otherwise:
    # https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#rate-based
    condition     = can(regex("^rate\\((1 minute|([2-9]|[1-5][0-9]|60) minutes)\\)$", var.watchdog_schedule_expression))
    error_message = "watchdog_schedule_expression must be rate(1 minute) or rate(N minutes) with N from 2 to 60 (the watchdog's period); got ${jsonencode(var.watchdog_schedule_expression)}."
  }
}

variable "watchdog_timeout" {
  description = "The watchdog function's timeout in seconds (10-900)."
  type        = number
  default     = 60
  nullable    = false
}

variable "watchdog_memory_size" {
  description = "The watchdog function's memory in MB (128-10240)."
  type        = number
  default     = 256
  nullable    = false
}

variable "create_dashboard" {
  description = "Create the fleet's CloudWatch dashboard `<name>`, which lists every job's failed runs and lateness by name (`<name>-jobs-2`, ... for the jobs past the first 1,000)."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# IAM guardrails (every role of the fleet (the shared layer's and each job's; a jobs entry or defaults may set its own))
################################################################################

variable "role_per_job" {
  description = "One execution role per job (true), or one role for every job of the map (false): 1,000 jobs then take 1 role of the account's 1,000 instead of 1,000. The shared role's policy is the union of the jobs' own (their secrets, database users, export prefixes, queue and key; the jobs' log groups and created secrets by the fleet's name prefix). A job's own role_* attributes then apply to its rotation role only."
  type        = bool
  default     = true
  nullable    = false
}

variable "role_policy_type" {
  description = "How the fleet's own permissions reach its roles: \"inline\" (an inline policy per role) or \"managed\" (customer managed policies, attached; for SCPs that deny iam:PutRolePolicy). With \"managed\", add your own permissions with role_policy_arns, not role_inline_policy."
  type        = string
  default     = null
}

variable "role_permissions_boundary" {
  description = "ARN of a managed policy set as the permissions boundary of every role of the fleet: the scheduler and watchdog roles and each job's (and rotation) role; a jobs entry or defaults may set its own. null: none."
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
  description = "IAM path of every role of the fleet (for example \"/pg-cron-job/\"); a jobs entry or defaults may set its own."
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
  description = "Managed policy ARNs attached to every role of the fleet, besides its own inline policy; a jobs entry or defaults may set its own list (replacing this one for that job's roles)."
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
  description = "An extra inline policy (JSON, e.g. data.aws_iam_policy_document.<name>.json) added to every role of the fleet (a jobs entry or defaults may set its own), as the policy \"extra\". Must be known at plan (it sets a count). The role's inline policies together may have 10,240 characters (without whitespace)."
  type        = string
  default     = null

  validation {
    condition     = var.role_inline_policy == null || can(jsondecode(var.role_inline_policy).Statement)
    error_message = "role_inline_policy must be an IAM policy JSON document with a Statement (data.aws_iam_policy_document.<name>.json or jsonencode({ Version = \"2012-10-17\", Statement = [...] }))."
  }
}

################################################################################
# Shared layer, passed through: each input's type, range and default are declared once, in
# modules/pg_cron_job_shared (null here takes that default; its validations apply).
################################################################################

variable "failure_queue_retention_seconds" {
  description = "How long the failures queue keeps undelivered schedules and failed-run records (modules/pg_cron_job_shared: 60-1209600 s, default 14 days)."
  type        = number
  default     = null
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the created KMS key is deleted (modules/pg_cron_job_shared: 7-30 days, default 30)."
  type        = number
  default     = null
}

variable "watchdog_schedule_group_name" {
  description = "Scheduler group of the watchdog's own schedule (default \"default\")."
  type        = string
  default     = null
}

variable "endpoint_subnet_ids" {
  description = "Subnets of the created interface endpoints (Secrets Manager, the watchdog's), one per Availability Zone (null: subnet_ids; see modules/pg_cron_job_shared)."
  type        = list(string)
  default     = null
}

variable "security_group_tags" {
  description = "Extra tags of the jobs' security group."
  type        = map(string)
  default     = null
}

variable "endpoint_tags" {
  description = "Extra tags of the created interface endpoints (Secrets Manager, the watchdog's) and their security groups."
  type        = map(string)
  default     = null
}

variable "kms_key_tags" {
  description = "Extra tags of the created KMS key."
  type        = map(string)
  default     = null
}

variable "alarm_topic_tags" {
  description = "Extra tags of the created alarm topic."
  type        = map(string)
  default     = null
}

variable "failure_queue_tags" {
  description = "Extra tags of the failures queue."
  type        = map(string)
  default     = null
}

variable "scheduler_role_tags" {
  description = "Extra tags of the scheduler role."
  type        = map(string)
  default     = null
}

variable "watchdog_in_vpc" {
  description = "Attach the fleet's watchdog to the VPC (subnet_ids, its own HTTPS-only security group), for SCPs that require VPC Lambda functions (modules/pg_cron_job_shared: default false, outside the VPC)."
  type        = bool
  default     = null
}

variable "watchdog_vpc_endpoints" {
  description = "How the watchdog in the VPC reaches the Scheduler, CloudWatch and SSM APIs: \"create\" (interface endpoints, billed per hour and AZ), \"existing\" (give watchdog_endpoint_security_group_ids) or \"none\" (NAT; the default). See modules/pg_cron_job_shared."
  type        = string
  default     = null
}

variable "watchdog_endpoint_security_group_ids" {
  description = "Security groups of the VPC's existing scheduler, monitoring and ssm endpoints (watchdog_vpc_endpoints = \"existing\"): each admits the watchdog on 443."
  type        = list(string)
  default     = null
}
