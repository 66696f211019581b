variable "create" {
  description = "Create the shared layer (false: create nothing; every output is null)."
  type        = bool
  default     = true
  nullable    = false
}

variable "name" {
  description = "Prefix of the shared resources (security groups, KMS alias, topic, queue, scheduler role)."
  type        = string

  validation {
    # SQS queue names are at most 80 characters ("<name>-failures");
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, '-' or '_' (it prefixes the queue \"<name>-failures\", which SQS limits to 80 characters)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "VPC of the database and the jobs."
  type        = string

  validation {
    # EC2 resource ids are the prefix and 8 or 17 hexadecimal digits:
    # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html
    condition     = can(regex("^vpc-([0-9a-f]{8}|[0-9a-f]{17})$", var.vpc_id))
    error_message = "vpc_id must be a VPC id, vpc-0123456789abcdef0 (module.vpc.vpc_id), not a name or ARN; got ${jsonencode(var.vpc_id)}."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the jobs (and of the Secrets Manager endpoint when secretsmanager_endpoint = \"create\", of the watchdog with watchdog_in_vpc)."
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
  description = "Security group of the database: the jobs' egress goes to it, and with create_database_ingress_rule one rule on it admits the jobs' security group."
  type        = string
  default     = null

  validation {
    condition     = var.database_security_group_id == null || can(regex("^sg-([0-9a-f]{8}|[0-9a-f]{17})$", coalesce(var.database_security_group_id, "x")))
    error_message = "database_security_group_id must be a security group id, sg-0123456789abcdef0 (module.db.security_group_id), not a group name; got ${jsonencode(var.database_security_group_id)}."
  }

  validation {
    condition     = var.database_security_group_id != null || length(var.database_cidr_blocks) > 0
    error_message = "Tell the module where the database is: database_security_group_id or database_cidr_blocks."
  }
}

variable "create_database_ingress_rule" {
  description = "Add one ingress rule on database_security_group_id admitting the jobs' security group on database_port (one rule for all jobs)."
  type        = bool
  default     = true
  nullable    = false

  validation {
    condition     = !var.create_database_ingress_rule || var.database_security_group_id != null
    error_message = "create_database_ingress_rule needs database_security_group_id; with database_cidr_blocks set create_database_ingress_rule = false and open the database yourself."
  }
}

variable "database_cidr_blocks" {
  description = "CIDR blocks of the database; when set, the jobs' egress goes to them instead of database_security_group_id."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "database_port" {
  description = "Port of the database (the security-group rules open it)."
  type        = number
  default     = 5432
  nullable    = false

  validation {
    condition     = var.database_port >= 1 && var.database_port <= 65535
    error_message = "database_port must be a TCP port (1-65535)."
  }
}

variable "secretsmanager_endpoint" {
  description = "How the jobs reach Secrets Manager: \"create\" (one interface endpoint with private DNS for the VPC), \"existing\" (the VPC already has one: give secretsmanager_endpoint_security_group_id) or \"none\" (the subnets have a NAT gateway)."
  type        = string
  default     = "none"
  nullable    = false

  validation {
    condition     = contains(["create", "existing", "none"], var.secretsmanager_endpoint)
    error_message = "secretsmanager_endpoint must be \"create\", \"existing\" or \"none\"."
  }
}

variable "secretsmanager_endpoint_security_group_id" {
  description = "Security group of the VPC's existing Secrets Manager endpoint (secretsmanager_endpoint = \"existing\"): the module admits the jobs on 443 there."
  type        = string
  default     = null

  validation {
    condition     = var.secretsmanager_endpoint_security_group_id == null || can(regex("^sg-([0-9a-f]{8}|[0-9a-f]{17})$", coalesce(var.secretsmanager_endpoint_security_group_id, "x")))
    error_message = "secretsmanager_endpoint_security_group_id must be a security group id, sg-0123456789abcdef0, not a group name; got ${jsonencode(var.secretsmanager_endpoint_security_group_id)}."
  }

  validation {
    condition     = (var.secretsmanager_endpoint == "existing") == (var.secretsmanager_endpoint_security_group_id != null)
    error_message = "secretsmanager_endpoint_security_group_id is required with secretsmanager_endpoint = \"existing\" and only then (with \"create\" the module makes the endpoint's group)."
  }
}

variable "https_egress_cidr_blocks" {
  description = "Extra HTTPS egress of the jobs (CIDRs). null: 0.0.0.0/0 with secretsmanager_endpoint = \"none\" (NAT), nothing otherwise (the endpoint is reached by security group)."
  type        = list(string)
  default     = null
}

variable "create_s3_gateway_endpoint" {
  description = "Create an S3 gateway endpoint (free) on s3_gateway_route_table_ids and let the jobs reach it on 443: what extraction jobs (export) in private subnets without NAT need. A VPC with one already: leave false (its prefix list must then be allowed in https_egress_cidr_blocks' place by your own rule)."
  type        = bool
  default     = false
  nullable    = false
}

variable "s3_gateway_route_table_ids" {
  description = "Route tables of the jobs' subnets, for the S3 gateway endpoint (create_s3_gateway_endpoint = true)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.s3_gateway_route_table_ids : can(regex("^rtb-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "s3_gateway_route_table_ids must be route table ids, rtb-0123456789abcdef0 (module.vpc.private_route_table_ids); refused: ${join(", ", [for id in var.s3_gateway_route_table_ids : jsonencode(id) if !can(regex("^rtb-([0-9a-f]{8}|[0-9a-f]{17})$", id))])}."
  }

  validation {
    condition     = !var.create_s3_gateway_endpoint || length(var.s3_gateway_route_table_ids) > 0
    error_message = "create_s3_gateway_endpoint = true needs s3_gateway_route_table_ids: the route tables of the jobs' private subnets (a gateway endpoint works through routes, not subnets)."
  }

  validation {
    condition     = var.create_s3_gateway_endpoint || length(var.s3_gateway_route_table_ids) == 0
    error_message = "s3_gateway_route_table_ids is only used with create_s3_gateway_endpoint = true."
  }
}

variable "security_group_tags" {
  description = "Extra tags of the jobs' security group."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.security_group_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "security_group_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.security_group_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "endpoint_subnet_ids" {
  description = "Subnets of the created interface endpoints (Secrets Manager; the watchdog's with watchdog_vpc_endpoints = \"create\"), one per Availability Zone (an interface endpoint's limit). null: subnet_ids, which then must be one per zone too."
  type        = list(string)
  default     = null

  validation {
    condition     = var.endpoint_subnet_ids == null || try(length(var.endpoint_subnet_ids) > 0 && length(distinct(var.endpoint_subnet_ids)) == length(var.endpoint_subnet_ids) && alltrue([for id in var.endpoint_subnet_ids : can(regex("^subnet-([0-9a-f]{8}|[0-9a-f]{17})$", id))]), false)
    error_message = "endpoint_subnet_ids must be a non-empty list of distinct subnet ids (subnet-0123456789abcdef0), one per Availability Zone (or null for subnet_ids)."
  }
}

variable "endpoint_tags" {
  description = "Extra tags of the created interface endpoints (Secrets Manager, the watchdog's) and their security groups."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.endpoint_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "endpoint_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.endpoint_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

################################################################################
# Alarms, encryption, failures
################################################################################

variable "create_kms_key" {
  description = "Create a customer-managed KMS key for the alarm topic and the failures queue, with a key policy that lets CloudWatch alarms publish (false: kms_key_arn, or SQS-managed encryption and an unencrypted topic)."
  type        = bool
  default     = true
  nullable    = false
}

variable "kms_key_arn" {
  description = "Your customer-managed KMS key for the topic and the queue (create_kms_key = false). Its key policy needs the statements in the module README; never alias/aws/sns (CloudWatch cannot use it)."
  type        = string
  default     = null

  validation {
    condition     = !(var.create_kms_key && var.kms_key_arn != null)
    error_message = "Set either create_kms_key = true or kms_key_arn, not both."
  }

  validation {
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    condition     = var.kms_key_arn == null || !can(regex("alias/aws/", coalesce(var.kms_key_arn, "x")))
    error_message = "kms_key_arn must be a customer-managed key: the policy of an AWS managed key (alias/aws/sns, alias/aws/sqs) cannot grant CloudWatch or the scheduler, so alarms and failure records would be dropped."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the created KMS key is deleted."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be between 7 and 30 (KMS's range)."
  }
}

variable "kms_key_tags" {
  description = "Extra tags of the created KMS key."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.kms_key_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "kms_key_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.kms_key_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "create_alarm_topic" {
  description = "Create the SNS topic the jobs' alarms notify (false: give alarm_topic_arn, or none for no notifications)."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_topic_arn" {
  description = "Existing SNS topic for the alarms (create_alarm_topic = false). If it is encrypted, its key policy must let cloudwatch.amazonaws.com use the key (see the module README)."
  type        = string
  default     = null

  validation {
    condition     = !(var.create_alarm_topic && var.alarm_topic_arn != null)
    error_message = "Set either create_alarm_topic = true or alarm_topic_arn, not both."
  }
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed once to the created alarm topic (one confirmation each for the whole fleet)."
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

variable "alarm_topic_tags" {
  description = "Extra tags of the created alarm topic."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.alarm_topic_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "alarm_topic_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.alarm_topic_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

variable "failure_queue_retention_seconds" {
  description = "How long the failures queue keeps undelivered schedules and failed-run records."
  type        = number
  default     = 1209600
  nullable    = false

  validation {
    condition     = var.failure_queue_retention_seconds >= 60 && var.failure_queue_retention_seconds <= 1209600
    error_message = "failure_queue_retention_seconds must be between 60 and 1209600 (SQS's range)."
  }
}

variable "failure_queue_tags" {
  description = "Extra tags of the failures queue."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.failure_queue_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "failure_queue_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.failure_queue_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

################################################################################
# Scheduler
################################################################################

variable "function_names" {
  description = "Names of the jobs' Lambda functions: the shared scheduler role may invoke exactly these."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "function_name_prefix" {
  description = "Name prefix of the jobs' functions (the jobs map passes \"<name>-\"): the scheduler role may invoke `<prefix>*` with one ARN instead of one per function, so its policy does not grow with the fleet (the functions not starting with it are listed). null: every function listed."
  type        = string
  default     = null

  validation {
    # Lambda function names: letters, digits, '-' and '_':
    # https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-FunctionName
    condition     = var.function_name_prefix == null || can(regex("^[A-Za-z0-9_-]{1,63}$", coalesce(var.function_name_prefix, "x")))
    error_message = "function_name_prefix must be 1-63 letters, digits, '-' or '_' (the start of the jobs' function names, e.g. \"app-db-\")."
  }
}

variable "scheduler_role_tags" {
  description = "Extra tags of the scheduler role."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
    condition     = alltrue([for k, v in var.scheduler_role_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "scheduler_role_tags: tag keys must be 1-128 characters and must not start with \"aws:\" (reserved for AWS), values at most 256 characters; refused: ${join(", ", [for k, v in var.scheduler_role_tags : jsonencode(k) if !(length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:"))])}."
  }
}

################################################################################
# Watchdog, fleet alarms and dashboard (watchdog.tf)
################################################################################

variable "create_watchdog" {
  description = "Create the fleet's watchdog (`<name>-watchdog`), which checks every period that each job started when its schedule said, and the jobs' late alarms read. false: no watchdog and no late alarms."
  type        = bool
  default     = true
  nullable    = false
}

variable "package_path" {
  description = "The fleet's Lambda package (`make build`'s .build/<arch>/pg-cron-job.zip): the watchdog runs from it (handler `watchdog`). Required with create_watchdog."
  type        = string
  default     = null

  validation {
    condition     = var.package_path == null || try(endswith(var.package_path, ".zip"), false)
    error_message = "package_path must point at the .zip that `make build` produces (for example .build/x86_64/pg-cron-job.zip)."
  }

  validation {
    condition     = !var.create || !var.create_watchdog || var.package_path != null || var.package_s3_bucket != null
    error_message = "The watchdog runs from the fleet's package: set package_path or package_s3_bucket + package_s3_key (the jobs map module passes its own), or create_watchdog = false."
  }

  validation {
    condition     = var.package_path == null || var.package_s3_bucket == null
    error_message = "Give the package once: package_path or package_s3_bucket + package_s3_key, not both."
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

variable "architecture" {
  description = "Instruction set of package_path: x86_64 (default) or arm64."
  type        = string
  default     = "x86_64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\" and match the ARCH the package was built for."
  }
}

variable "watchdog_schedule_expression" {
  description = "How often the watchdog checks: rate(N minutes), N from 1 to 60 (a late run pages within its allowance plus this period)."
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

variable "watchdog_schedule_group_name" {
  description = "Scheduler group of the watchdog's own schedule."
  type        = string
  default     = "default"
  nullable    = false
}

variable "watched_schedule_groups" {
  description = "Scheduler groups holding the fleet's schedules (the jobs map module passes its jobs' groups)."
  type        = list(string)
  default     = ["default"]
  nullable    = false

  validation {
    # Group names: https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateScheduleGroup.html
    condition     = length(var.watched_schedule_groups) >= 1 && length(var.watched_schedule_groups) <= 20 && alltrue([for g in var.watched_schedule_groups : can(regex("^[0-9a-zA-Z._-]{1,64}$", g))])
    error_message = "watched_schedule_groups must name 1 to 20 Scheduler groups (1-64 letters, digits, '.', '-', '_')."
  }
}

variable "declared_jobs" {
  description = "The jobs Terraform declares for this fleet: job name (JOB_NAME, the watchdog's `job`) -> \"<schedule group>/<schedule name>\". Written to SSM Parameter Store under /pg-cron-job/<name>/declared (WATCH_DECLARED_PATH): a declared job whose schedule is missing is late (state \"missing\"). The jobs map and a job on its own pass theirs. Must be known at plan. {}: none (no parameter, no variable)."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # Scheduler group and schedule names: 1-64 of [0-9a-zA-Z-_.]:
    # https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html
    condition     = alltrue([for j, s in var.declared_jobs : can(regex("^[0-9a-zA-Z._-]{1,64}/[0-9a-zA-Z._-]{1,64}$", s)) && length(j) >= 1 && length(j) <= 255])
    error_message = "declared_jobs maps a job name (1-255 characters) to \"<schedule group>/<schedule name>\" (each 1-64 letters, digits, '.', '-', '_'); got ${join(", ", [for j, s in var.declared_jobs : "${jsonencode(j)} = ${jsonencode(s)}" if !can(regex("^[0-9a-zA-Z._-]{1,64}/[0-9a-zA-Z._-]{1,64}$", s)) || length(j) < 1 || length(j) > 255])}."
  }
}

variable "watchdog_timeout" {
  description = "The watchdog function's timeout in seconds."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.watchdog_timeout >= 10 && var.watchdog_timeout <= 900 && floor(var.watchdog_timeout) == var.watchdog_timeout
    error_message = "watchdog_timeout must be a whole number of seconds from 10 to 900 (Lambda's limit)."
  }
}

variable "watchdog_memory_size" {
  description = "The watchdog function's memory in MB."
  type        = number
  default     = 256
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
    condition     = var.watchdog_memory_size >= 128 && var.watchdog_memory_size <= 10240 && floor(var.watchdog_memory_size) == var.watchdog_memory_size
    error_message = "watchdog_memory_size must be 128-10240 MB (Lambda's range)."
  }
}

variable "log_retention_days" {
  description = "Retention of the watchdog's log group (0: never expire)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 0 (never), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "watchdog_in_vpc" {
  description = "Attach the watchdog to the VPC (subnet_ids, its own security group `<name>-watchdog-` with HTTPS egress only), for organisations whose SCPs require VPC Lambda functions. It then reaches the Scheduler, CloudWatch and SSM APIs through watchdog_vpc_endpoints. false: outside the VPC (it reaches no database)."
  type        = bool
  default     = false
  nullable    = false
}

variable "watchdog_vpc_endpoints" {
  description = "How the watchdog in the VPC (watchdog_in_vpc) reaches its APIs: \"create\" (interface endpoints with private DNS for scheduler, monitoring and, with declared jobs, ssm; a VPC can hold one per service), \"existing\" (the VPC has them: give watchdog_endpoint_security_group_ids) or \"none\" (the subnets have a NAT: HTTPS egress to https_egress_cidr_blocks, else 0.0.0.0/0)."
  type        = string
  default     = "none"
  nullable    = false

  validation {
    condition     = contains(["create", "existing", "none"], var.watchdog_vpc_endpoints)
    error_message = "watchdog_vpc_endpoints must be \"create\", \"existing\" or \"none\"; got ${jsonencode(var.watchdog_vpc_endpoints)}."
  }

  validation {
    condition     = var.watchdog_vpc_endpoints == "none" || var.watchdog_in_vpc
    error_message = "watchdog_vpc_endpoints = ${jsonencode(var.watchdog_vpc_endpoints)} is for a watchdog in the VPC: set watchdog_in_vpc = true, or leave watchdog_vpc_endpoints = \"none\"."
  }
}

variable "watchdog_endpoint_security_group_ids" {
  description = "Security groups of the VPC's existing Scheduler, CloudWatch (monitoring) and SSM interface endpoints (watchdog_vpc_endpoints = \"existing\"): each gets an ingress rule on 443 from the watchdog's group, which gets egress on 443 to each."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.watchdog_endpoint_security_group_ids : can(regex("^sg-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "watchdog_endpoint_security_group_ids must be security group ids, sg-0123456789abcdef0, not group names; refused: ${join(", ", [for id in var.watchdog_endpoint_security_group_ids : jsonencode(id) if !can(regex("^sg-([0-9a-f]{8}|[0-9a-f]{17})$", id))])}."
  }

  validation {
    condition     = (var.watchdog_vpc_endpoints == "existing") == (length(var.watchdog_endpoint_security_group_ids) > 0)
    error_message = "watchdog_endpoint_security_group_ids is required with watchdog_vpc_endpoints = \"existing\" (the security groups of the VPC's scheduler, monitoring and ssm endpoints) and only then (with \"create\" the module makes the endpoints' group)."
  }
}

variable "create_dashboard" {
  description = "Create the fleet's CloudWatch dashboard `<name>`: runs by status, duration, lateness per job, the failures queue and the watchdog; with declared_jobs every job's failed runs and lateness in tables of at most 500 jobs, on further dashboards `<name>-jobs-2`, ... when one dashboard's 2,500 metrics are not enough."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# IAM guardrails (every role the module creates)
################################################################################

variable "role_permissions_boundary" {
  description = "ARN of a managed policy set as the permissions boundary of every role the module creates (SCPs that deny iam:CreateRole without one). null: none."
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
