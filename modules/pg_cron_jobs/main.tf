# A fleet of pg_cron_job jobs against one database: the shared layer once, then one
# modules/pg_cron_job per entry of var.jobs (wrappers style, but typed: a misspelt attribute of a
# job is a plan-time error). A job's attribute wins over var.defaults, which wins over the job
# module's own default.
locals {
  function_names = { for k, j in var.jobs : k => j.name != null ? j.name : "${var.name}-${k}" }
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
  create_kms_key                            = var.create_kms_key
  kms_key_arn                               = var.kms_key_arn
  create_alarm_topic                        = var.create_alarm_topic
  alarm_topic_arn                           = var.alarm_topic_arn
  alarm_emails                              = var.alarm_emails
  function_names                            = values(local.function_names)
  tags                                      = var.tags
}

module "job" {
  source   = "../pg_cron_job"
  for_each = var.create ? var.jobs : {}

  name          = local.function_names[each.key]
  shared        = module.shared.job_inputs
  vpc_id        = var.vpc_id
  subnet_ids    = var.subnet_ids
  database_port = var.database_port
  package_path  = each.value.package_path != null ? each.value.package_path : coalesce(var.defaults.package_path, var.package_path)
  environment   = merge(coalesce(var.defaults.environment, {}), coalesce(each.value.environment, {}))
  tags          = merge(var.tags, coalesce(var.defaults.tags, {}), coalesce(each.value.tags, {}))

  job_name                       = each.value.job_name != null ? each.value.job_name : var.defaults.job_name
  sql                            = each.value.sql != null ? each.value.sql : var.defaults.sql
  sql_file                       = each.value.sql_file != null ? each.value.sql_file : var.defaults.sql_file
  sql_source_path                = each.value.sql_source_path != null ? each.value.sql_source_path : var.defaults.sql_source_path
  schedule_expression            = each.value.schedule_expression != null ? each.value.schedule_expression : var.defaults.schedule_expression
  schedule_timezone              = each.value.schedule_timezone != null ? each.value.schedule_timezone : var.defaults.schedule_timezone
  schedule_enabled               = each.value.schedule_enabled != null ? each.value.schedule_enabled : var.defaults.schedule_enabled
  schedule_group_name            = each.value.schedule_group_name != null ? each.value.schedule_group_name : var.defaults.schedule_group_name
  flexible_time_window_minutes   = each.value.flexible_time_window_minutes != null ? each.value.flexible_time_window_minutes : var.defaults.flexible_time_window_minutes
  schedule_start_date            = each.value.schedule_start_date != null ? each.value.schedule_start_date : var.defaults.schedule_start_date
  schedule_end_date              = each.value.schedule_end_date != null ? each.value.schedule_end_date : var.defaults.schedule_end_date
  retry_attempts                 = each.value.retry_attempts != null ? each.value.retry_attempts : var.defaults.retry_attempts
  maximum_event_age_seconds      = each.value.maximum_event_age_seconds != null ? each.value.maximum_event_age_seconds : var.defaults.maximum_event_age_seconds
  transaction                    = each.value.transaction != null ? each.value.transaction : var.defaults.transaction
  statement_timeout_ms           = each.value.statement_timeout_ms != null ? each.value.statement_timeout_ms : var.defaults.statement_timeout_ms
  lock_timeout_ms                = each.value.lock_timeout_ms != null ? each.value.lock_timeout_ms : var.defaults.lock_timeout_ms
  allow_overlap                  = each.value.allow_overlap != null ? each.value.allow_overlap : var.defaults.allow_overlap
  max_runtime_ms                 = each.value.max_runtime_ms != null ? each.value.max_runtime_ms : var.defaults.max_runtime_ms
  history_table                  = each.value.history_table != null ? each.value.history_table : var.defaults.history_table
  history_retention_days         = each.value.history_retention_days != null ? each.value.history_retention_days : var.defaults.history_retention_days
  repeat_until_zero              = each.value.repeat_until_zero != null ? each.value.repeat_until_zero : var.defaults.repeat_until_zero
  continue_on_deadline           = each.value.continue_on_deadline != null ? each.value.continue_on_deadline : var.defaults.continue_on_deadline
  max_continuations              = each.value.max_continuations != null ? each.value.max_continuations : var.defaults.max_continuations
  log_level                      = each.value.log_level != null ? each.value.log_level : var.defaults.log_level
  expected_interval_seconds      = each.value.expected_interval_seconds != null ? each.value.expected_interval_seconds : var.defaults.expected_interval_seconds
  memory_size                    = each.value.memory_size != null ? each.value.memory_size : var.defaults.memory_size
  timeout                        = each.value.timeout != null ? each.value.timeout : var.defaults.timeout
  reserved_concurrent_executions = each.value.reserved_concurrent_executions != null ? each.value.reserved_concurrent_executions : var.defaults.reserved_concurrent_executions
  architecture                   = each.value.architecture != null ? each.value.architecture : var.defaults.architecture
  auth_mode                      = each.value.auth_mode != null ? each.value.auth_mode : var.defaults.auth_mode
  # A job that creates its own secret or uses IAM auth does not inherit the default secret_arn.
  secret_arn                  = each.value.secret_arn != null ? each.value.secret_arn : (each.value.create_secret == true || each.value.auth_mode == "iam" ? null : var.defaults.secret_arn)
  secret_kms_key_arn          = each.value.secret_kms_key_arn != null ? each.value.secret_kms_key_arn : var.defaults.secret_kms_key_arn
  create_secret               = each.value.create_secret != null ? each.value.create_secret : var.defaults.create_secret
  secret_username             = each.value.secret_username != null ? each.value.secret_username : var.defaults.secret_username
  secret_password_version     = each.value.secret_password_version != null ? each.value.secret_password_version : var.defaults.secret_password_version
  secret_recovery_window_days = each.value.secret_recovery_window_days != null ? each.value.secret_recovery_window_days : var.defaults.secret_recovery_window_days
  rotation_lambda_arn         = each.value.rotation_lambda_arn != null ? each.value.rotation_lambda_arn : var.defaults.rotation_lambda_arn
  rotation_days               = each.value.rotation_days != null ? each.value.rotation_days : var.defaults.rotation_days
  database_host               = each.value.database_host != null ? each.value.database_host : var.defaults.database_host
  database_name               = each.value.database_name != null ? each.value.database_name : var.defaults.database_name
  database_user               = each.value.database_user != null ? each.value.database_user : var.defaults.database_user
  iam_database_resource_id    = each.value.iam_database_resource_id != null ? each.value.iam_database_resource_id : var.defaults.iam_database_resource_id
  ssl_mode                    = each.value.ssl_mode != null ? each.value.ssl_mode : var.defaults.ssl_mode
  log_retention_days          = each.value.log_retention_days != null ? each.value.log_retention_days : var.defaults.log_retention_days
  log_kms_key_arn             = each.value.log_kms_key_arn != null ? each.value.log_kms_key_arn : var.defaults.log_kms_key_arn
  kms_key_arn                 = each.value.kms_key_arn != null ? each.value.kms_key_arn : var.defaults.kms_key_arn
}
