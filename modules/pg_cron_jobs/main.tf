# A fleet of pg_cron_job jobs against one database: the shared layer once, then one
# modules/pg_cron_job per entry of var.jobs (wrappers style; attribute names are checked in
# variables.tf, so a misspelt attribute of a job is a plan-time error). A job's attribute wins over var.defaults, which wins over the job
# module's own default.
locals {
  function_names = { for k, j in var.jobs : k => try(j.name, null) != null ? j.name : "${var.name}-${k}" }
  # The Scheduler groups of the jobs' schedules: the watchdog lists them.
  schedule_groups = distinct(values(local.job_groups))
  # The fleet's package and architecture (the watchdog's), as the jobs default to them.
  # The jobs that bring their own package (a path or a bucket and key) instead of the fleet's.
  own_package = { for k, j in var.jobs : k => try(j.package_path, null) != null || try(j.package_s3_bucket, null) != null }
  # A package given by defaults (a path or a bucket and key) replaces the fleet's.
  package = try(var.defaults.package_path, null) != null || try(var.defaults.package_s3_bucket, null) != null ? {
    path = try(var.defaults.package_path, null), bucket = try(var.defaults.package_s3_bucket, null), key = try(var.defaults.package_s3_key, null), version = try(var.defaults.package_s3_object_version, null), listing = try(var.defaults.package_listing_path, null)
    } : {
    path = var.package_path, bucket = var.package_s3_bucket, key = var.package_s3_key, version = var.package_s3_object_version, listing = var.package_listing_path
  }
  architecture = coalesce(try(var.defaults.architecture, null), "x86_64")
  # Each job's JOB_NAME (the watchdog's `job`, the metrics' Job dimension) and schedule group,
  # as the job module sets them.
  job_names = { for k, j in var.jobs : k => coalesce(try(j.job_name, null), try(var.defaults.job_name, null), local.function_names[k]) }
  # A job's own schedule_group_name (or defaults') wins: an existing group stays possible.
  job_groups = { for k, j in var.jobs : k => coalesce(try(j.schedule_group_name, null), try(var.defaults.schedule_group_name, null), local.fleet_group) }
  # The fleet's group (known at plan: its name is the fleet's), or Scheduler's default group.
  fleet_group = try(aws_scheduler_schedule_group.this[0].name, "default")
}

# What each job reaches (its secret, database user, RDS resources, export, continuation): one
# expression per attribute, given to the job and, with role_per_job = false, to its permissions
# (iam.tf), so that both read the same facts.
locals {
  job_access = { for k, j in var.jobs : k => {
    create_secret            = try(j.create_secret, null) != null ? j.create_secret : try(var.defaults.create_secret, null)
    secret_arn               = try(j.secret_arn, null) != null ? j.secret_arn : (try(j.create_secret, false) == true || try(j.auth_mode, null) == "iam" ? null : try(var.defaults.secret_arn, null))
    secret_kms_key_arn       = try(j.secret_kms_key_arn, null) != null ? j.secret_kms_key_arn : try(var.defaults.secret_kms_key_arn, null)
    auth_mode                = try(j.auth_mode, null) != null ? j.auth_mode : try(var.defaults.auth_mode, null)
    iam_database_resource_id = try(j.iam_database_resource_id, null) != null ? j.iam_database_resource_id : try(var.defaults.iam_database_resource_id, null)
    database_user            = try(j.database_user, null) != null ? j.database_user : try(var.defaults.database_user, null)
    db_cluster_identifier    = try(j.db_cluster_identifier, null) != null ? j.db_cluster_identifier : (try(j.db_instance_identifier, null) != null ? null : try(var.defaults.db_cluster_identifier, null))
    db_instance_identifier   = try(j.db_instance_identifier, null) != null ? j.db_instance_identifier : (try(j.db_cluster_identifier, null) != null ? null : try(var.defaults.db_instance_identifier, null))
    continue_on_deadline     = try(j.continue_on_deadline, null) != null ? j.continue_on_deadline : try(var.defaults.continue_on_deadline, null)
  } }
}

# The fleet's own Scheduler group. The watchdog lists every schedule of the groups it watches
# (ListSchedules per group) and reads the fleet's among them: in the default group that is every
# schedule of the account and region, other teams' too. A group of its own keeps the listing to
# the fleet. Deleting a group deletes its schedules; groups per account and region are limited
# (500 by default):
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-group.html
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.html
resource "aws_scheduler_schedule_group" "this" {
  count = var.create && var.create_schedule_group ? 1 : 0
  name  = var.name
  tags  = var.tags
}

module "shared" {
  source = "../pg_cron_job_shared"

  create                                    = var.create
  name                                      = var.name
  vpc_id                                    = var.vpc_id
  subnet_ids                                = var.subnet_ids
  database_security_group_id                = var.database_security_group_id
  create_database_ingress_rule              = var.create_database_ingress_rule
  database_cidr_blocks                      = var.database_cidr_blocks
  database_port                             = var.database_port
  secretsmanager_endpoint                   = var.secretsmanager_endpoint
  secretsmanager_endpoint_security_group_id = var.secretsmanager_endpoint_security_group_id
  https_egress_cidr_blocks                  = var.https_egress_cidr_blocks
  create_s3_gateway_endpoint                = var.create_s3_gateway_endpoint
  s3_gateway_route_table_ids                = var.s3_gateway_route_table_ids
  create_kms_key                            = var.create_kms_key
  kms_key_arn                               = var.kms_key_arn
  create_alarm_topic                        = var.create_alarm_topic
  alarm_topic_arn                           = var.alarm_topic_arn
  alarm_emails                              = var.alarm_emails
  function_names                            = values(local.function_names)
  function_name_prefix                      = "${var.name}-"
  create_watchdog                           = var.create_watchdog
  package_path                              = local.package.path
  package_s3_bucket                         = local.package.bucket
  package_s3_key                            = local.package.key
  package_s3_object_version                 = local.package.version
  architecture                              = local.architecture
  watchdog_schedule_expression              = var.watchdog_schedule_expression
  watchdog_timeout                          = var.watchdog_timeout
  watchdog_memory_size                      = var.watchdog_memory_size
  watched_schedule_groups                   = length(local.schedule_groups) > 0 ? local.schedule_groups : ["default"]
  # Every job of the map (job name -> "<group>/<schedule>"), through the jobs' schedule names so
  # that the declaration is written once the schedules exist (no "missing" during an apply).
  # (variables.tf refuses two jobs of one job_name.)
  declared_jobs                   = merge(var.declared_jobs, { for k, j in module.job : local.job_names[k] => "${local.job_groups[k]}/${j.schedule_name}" })
  log_retention_days              = coalesce(try(var.defaults.log_retention_days, null), 30)
  create_dashboard                = var.create_dashboard
  failure_queue_retention_seconds = var.failure_queue_retention_seconds
  kms_key_deletion_window_days    = var.kms_key_deletion_window_days
  watchdog_schedule_group_name    = var.watchdog_schedule_group_name
  endpoint_subnet_ids             = var.endpoint_subnet_ids
  security_group_tags             = var.security_group_tags
  endpoint_tags                   = var.endpoint_tags
  kms_key_tags                    = var.kms_key_tags
  alarm_topic_tags                = var.alarm_topic_tags
  failure_queue_tags              = var.failure_queue_tags
  scheduler_role_tags             = var.scheduler_role_tags
  role_permissions_boundary       = var.role_permissions_boundary
  role_path                       = var.role_path
  role_policy_arns                = var.role_policy_arns
  role_inline_policy              = var.role_inline_policy
  role_policy_type                = var.role_policy_type
  tags                            = var.tags
  # The watchdog in the VPC (see "Watchdog in the VPC" in modules/pg_cron_job_shared/README.md).
  watchdog_in_vpc                      = var.watchdog_in_vpc
  watchdog_vpc_endpoints               = var.watchdog_vpc_endpoints
  watchdog_endpoint_security_group_ids = var.watchdog_endpoint_security_group_ids
}

module "job" {
  source   = "../pg_cron_job"
  for_each = { for k, j in var.jobs : k => j if var.create }

  name   = local.function_names[each.key]
  shared = module.shared.job_inputs
  # role_per_job = false: the fleet's role (iam.tf) instead of one per job.
  create_role      = var.role_per_job
  role_arn         = local.shared_role_arn
  role_policy_type = var.role_policy_type
  vpc_id           = var.vpc_id
  subnet_ids       = var.subnet_ids
  database_port    = var.database_port
  # A job's own package (a path or a bucket and key) replaces the fleet's.
  package_path              = local.own_package[each.key] ? try(each.value.package_path, null) : local.package.path
  package_s3_bucket         = local.own_package[each.key] ? try(each.value.package_s3_bucket, null) : local.package.bucket
  package_s3_key            = local.own_package[each.key] ? try(each.value.package_s3_key, null) : local.package.key
  package_s3_object_version = local.own_package[each.key] ? try(each.value.package_s3_object_version, null) : local.package.version
  package_listing_path      = local.own_package[each.key] ? try(each.value.package_listing_path, null) : local.package.listing
  environment               = merge(try(coalesce(var.defaults.environment, {}), {}), try(coalesce(each.value.environment, {}), {}))
  tags                      = merge(var.tags, try(coalesce(var.defaults.tags, {}), {}), try(coalesce(each.value.tags, {}), {}))

  job_name                       = try(each.value.job_name, null) != null ? each.value.job_name : try(var.defaults.job_name, null)
  sql                            = try(each.value.sql, null) != null ? each.value.sql : try(var.defaults.sql, null)
  sql_file                       = try(each.value.sql_file, null) != null ? each.value.sql_file : try(var.defaults.sql_file, null)
  sql_source_path                = try(each.value.sql_source_path, null) != null ? each.value.sql_source_path : try(var.defaults.sql_source_path, null)
  schedule_expression            = try(each.value.schedule_expression, null) != null ? each.value.schedule_expression : try(var.defaults.schedule_expression, null)
  schedule_timezone              = try(each.value.schedule_timezone, null) != null ? each.value.schedule_timezone : try(var.defaults.schedule_timezone, null)
  schedule_enabled               = try(each.value.schedule_enabled, null) != null ? each.value.schedule_enabled : try(var.defaults.schedule_enabled, null)
  schedule_group_name            = local.job_groups[each.key]
  flexible_time_window_minutes   = try(each.value.flexible_time_window_minutes, null) != null ? each.value.flexible_time_window_minutes : try(var.defaults.flexible_time_window_minutes, null)
  schedule_start_date            = try(each.value.schedule_start_date, null) != null ? each.value.schedule_start_date : try(var.defaults.schedule_start_date, null)
  schedule_end_date              = try(each.value.schedule_end_date, null) != null ? each.value.schedule_end_date : try(var.defaults.schedule_end_date, null)
  retry_attempts                 = try(each.value.retry_attempts, null) != null ? each.value.retry_attempts : try(var.defaults.retry_attempts, null)
  maximum_event_age_seconds      = try(each.value.maximum_event_age_seconds, null) != null ? each.value.maximum_event_age_seconds : try(var.defaults.maximum_event_age_seconds, null)
  transaction                    = try(each.value.transaction, null) != null ? each.value.transaction : try(var.defaults.transaction, null)
  statement_timeout_ms           = try(each.value.statement_timeout_ms, null) != null ? each.value.statement_timeout_ms : try(var.defaults.statement_timeout_ms, null)
  lock_timeout_ms                = try(each.value.lock_timeout_ms, null) != null ? each.value.lock_timeout_ms : try(var.defaults.lock_timeout_ms, null)
  allow_overlap                  = try(each.value.allow_overlap, null) != null ? each.value.allow_overlap : try(var.defaults.allow_overlap, null)
  max_runtime_ms                 = try(each.value.max_runtime_ms, null) != null ? each.value.max_runtime_ms : try(var.defaults.max_runtime_ms, null)
  history_table                  = try(each.value.history_table, null) != null ? each.value.history_table : try(var.defaults.history_table, null)
  history_retention_days         = try(each.value.history_retention_days, null) != null ? each.value.history_retention_days : try(var.defaults.history_retention_days, null)
  repeat_until_zero              = try(each.value.repeat_until_zero, null) != null ? each.value.repeat_until_zero : try(var.defaults.repeat_until_zero, null)
  continue_on_deadline           = local.job_access[each.key].continue_on_deadline
  max_continuations              = try(each.value.max_continuations, null) != null ? each.value.max_continuations : try(var.defaults.max_continuations, null)
  log_level                      = try(each.value.log_level, null) != null ? each.value.log_level : try(var.defaults.log_level, null)
  grace_minutes                  = try(each.value.grace_minutes, null) != null ? each.value.grace_minutes : try(var.defaults.grace_minutes, null)
  memory_size                    = try(each.value.memory_size, null) != null ? each.value.memory_size : try(var.defaults.memory_size, null)
  timeout                        = try(each.value.timeout, null) != null ? each.value.timeout : try(var.defaults.timeout, null)
  reserved_concurrent_executions = try(each.value.reserved_concurrent_executions, null) != null ? each.value.reserved_concurrent_executions : try(var.defaults.reserved_concurrent_executions, null)
  architecture                   = try(each.value.architecture, null) != null ? each.value.architecture : try(var.defaults.architecture, null)
  auth_mode                      = local.job_access[each.key].auth_mode
  # A job that creates its own secret or uses IAM auth does not inherit the default secret_arn.
  secret_arn                  = local.job_access[each.key].secret_arn
  secret_kms_key_arn          = local.job_access[each.key].secret_kms_key_arn
  create_secret               = local.job_access[each.key].create_secret
  secret_username             = try(each.value.secret_username, null) != null ? each.value.secret_username : try(var.defaults.secret_username, null)
  secret_password_version     = try(each.value.secret_password_version, null) != null ? each.value.secret_password_version : try(var.defaults.secret_password_version, null)
  secret_recovery_window_days = try(each.value.secret_recovery_window_days, null) != null ? each.value.secret_recovery_window_days : try(var.defaults.secret_recovery_window_days, null)
  rotation_lambda_arn         = try(each.value.rotation_lambda_arn, null) != null ? each.value.rotation_lambda_arn : try(var.defaults.rotation_lambda_arn, null)
  rotation_days               = try(each.value.rotation_days, null) != null ? each.value.rotation_days : try(var.defaults.rotation_days, null)
  database_host               = try(each.value.database_host, null) != null ? each.value.database_host : try(var.defaults.database_host, null)
  database_name               = try(each.value.database_name, null) != null ? each.value.database_name : try(var.defaults.database_name, null)
  database_user               = local.job_access[each.key].database_user
  iam_database_resource_id    = local.job_access[each.key].iam_database_resource_id
  ssl_mode                    = try(each.value.ssl_mode, null) != null ? each.value.ssl_mode : try(var.defaults.ssl_mode, null)
  log_retention_days          = try(each.value.log_retention_days, null) != null ? each.value.log_retention_days : try(var.defaults.log_retention_days, null)
  log_kms_key_arn             = try(each.value.log_kms_key_arn, null) != null ? each.value.log_kms_key_arn : try(var.defaults.log_kms_key_arn, null)
  kms_key_arn                 = try(each.value.kms_key_arn, null) != null ? each.value.kms_key_arn : try(var.defaults.kms_key_arn, null)
  database_host_address       = try(each.value.database_host_address, null) != null ? each.value.database_host_address : try(var.defaults.database_host_address, null)
  # A job naming an instance does not inherit a default cluster, and the other way round.
  db_cluster_identifier     = local.job_access[each.key].db_cluster_identifier
  db_instance_identifier    = local.job_access[each.key].db_instance_identifier
  db_endpoint               = try(each.value.db_endpoint, null) != null ? each.value.db_endpoint : try(var.defaults.db_endpoint, null)
  when_database_unavailable = try(each.value.when_database_unavailable, null) != null ? each.value.when_database_unavailable : try(var.defaults.when_database_unavailable, null)
  read_only                 = try(each.value.read_only, null) != null ? each.value.read_only : try(var.defaults.read_only, null)
  # export is per job (a default export would turn every job into an extraction).
  export = try(each.value.export, null)
  # rotation is per job too: the job that creates the secret (create_secret) or names it
  # (secret_arn) rotates it; a default would make every job rotate the same shared secret.
  rotation = try(each.value.rotation, null)
  # IAM guardrails: the job's own value, else defaults', else the fleet's (which the shared
  # layer's roles get too).
  role_permissions_boundary = try(each.value.role_permissions_boundary, null) != null ? each.value.role_permissions_boundary : try(var.defaults.role_permissions_boundary, null) != null ? var.defaults.role_permissions_boundary : var.role_permissions_boundary
  role_path                 = try(each.value.role_path, null) != null ? each.value.role_path : try(var.defaults.role_path, null) != null ? var.defaults.role_path : var.role_path
  role_policy_arns          = try(each.value.role_policy_arns, null) != null ? each.value.role_policy_arns : try(var.defaults.role_policy_arns, null) != null ? var.defaults.role_policy_arns : var.role_policy_arns
  role_inline_policy        = try(each.value.role_inline_policy, null) != null ? each.value.role_inline_policy : try(var.defaults.role_inline_policy, null) != null ? var.defaults.role_inline_policy : var.role_inline_policy
  # Per-resource tags (on top of tags): the job's own map, else defaults'.
  function_tags  = try(each.value.function_tags, null) != null ? each.value.function_tags : try(var.defaults.function_tags, null)
  role_tags      = try(each.value.role_tags, null) != null ? each.value.role_tags : try(var.defaults.role_tags, null)
  log_group_tags = try(each.value.log_group_tags, null) != null ? each.value.log_group_tags : try(var.defaults.log_group_tags, null)
  alarm_tags     = try(each.value.alarm_tags, null) != null ? each.value.alarm_tags : try(var.defaults.alarm_tags, null)
  secret_tags    = try(each.value.secret_tags, null) != null ? each.value.secret_tags : try(var.defaults.secret_tags, null)
}
