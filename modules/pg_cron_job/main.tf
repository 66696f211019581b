data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  create       = var.create
  partition    = data.aws_partition.current.partition
  region       = data.aws_region.current.id
  account_id   = data.aws_caller_identity.current.account_id
  function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}"
  job_name     = coalesce(var.job_name, var.name)
  secret_arn   = var.create_secret ? try(aws_secretsmanager_secret.this[0].arn, null) : var.secret_arn

  # What a fleet shares (security group, failures queue, scheduler role, KMS key, alarm topic):
  # given by the shared layer, or created for this job alone by the same submodule.
  shared = var.shared != null ? var.shared : try(module.shared[0].job_inputs, null)
  # Known at plan time (the key ARN may not be), so the KMS statements can be counted.
  encrypted = var.shared != null ? coalesce(var.shared.kms_encrypted, var.shared.kms_key_arn != null) : (var.create_kms_key || var.alarm_kms_key_arn != null)

  # Lambda's log filter must let through the most verbose level RUST_LOG asks for.
  # https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
  log_levels            = [for l in ["trace", "debug", "info", "warn", "error"] : l if strcontains(lower(var.log_level), l)]
  application_log_level = upper(try(local.log_levels[0], "info"))

  # var.export with its defaults (variables.tf checks its keys: an `any` input, so that a
  # misspelt key is refused rather than dropped).
  export_keys = ["bucket_arn", "prefix", "key", "format", "header", "compression", "compression_level", "threads", "kms_key_arn", "expected_bucket_owner", "manifest"]
  export = var.export == null ? null : {
    bucket_arn            = var.export.bucket_arn
    prefix                = var.export.prefix
    key                   = try(var.export.key, null)
    format                = coalesce(try(var.export.format, null), "csv")
    header                = try(tobool(coalesce(var.export.header, true)), true)
    compression           = try(var.export.compression, null)
    compression_level     = try(var.export.compression_level, null)
    threads               = try(var.export.threads, null)
    kms_key_arn           = try(var.export.kms_key_arn, null)
    expected_bucket_owner = try(var.export.expected_bucket_owner, null)
    manifest              = try(tobool(coalesce(var.export.manifest, false)), false)
  }

  # Extraction: s3://<bucket>/<prefix><key>; the role may write under <prefix> only.
  export_bucket = local.export == null ? null : regex("^arn:[^:]+:s3:::(.+)$", local.export.bucket_arn)[0]
  export_extension = local.export == null ? null : format("%s%s",
    { csv = ".csv", text = ".txt", jsonl = ".jsonl" }[local.export.format],
    { gzip = ".gz", zstd = ".zst", none = "" }[coalesce(local.export.compression, "gzip")],
  )
  export_key         = local.export == null ? null : coalesce(local.export.key, "{job}/{scheduled_date}/{job}-{scheduled_time}${local.export_extension}")
  export_s3_uri      = local.export == null ? null : "s3://${local.export_bucket}/${local.export.prefix}${local.export_key}"
  export_objects_arn = local.export == null ? null : "${local.export.bucket_arn}/${local.export.prefix}*"

  # The package's files and their SHA-256, from the listing make build writes beside the zip
  # (lambda/package.py); null for a package from S3 or a zip without one.
  package_files     = try(jsondecode(file(var.package_listing_path != null ? var.package_listing_path : "${var.package_path}.files.json")).files, null)
  package_sql_files = [for f in keys(coalesce(local.package_files, {})) : f if endswith(f, ".sql")]
  package_unlisted  = var.package_path == null ? "the package comes from S3 (give package_listing_path, the listing make build wrote beside the zip you uploaded)" : "no listing beside the zip (make build writes <zip>.files.json)"

  # The RDS resources the runner describes (DB_CLUSTER_IDENTIFIER / DB_INSTANCE_IDENTIFIER).
  rds_arn_prefix = "arn:${local.partition}:rds:${local.region}:${local.account_id}"

  # Exactly the variables the runner (lambda/) reads; unset inputs are left out.
  managed_environment = {
    for k, v in {
      DB_SECRET_ID           = local.secret_arn
      SQL                    = var.sql
      SQL_FILE               = var.sql_file
      SQL_SHA256             = var.sql_source_path == null ? null : filesha256(var.sql_source_path)
      JOB_NAME               = local.job_name
      PGSSLMODE              = var.ssl_mode
      PGHOST                 = var.database_host
      PGPORT                 = var.database_port
      PGDATABASE             = var.database_name
      PGUSER                 = var.database_user
      AUTH_MODE              = var.auth_mode
      TRANSACTION            = var.transaction
      STATEMENT_TIMEOUT_MS   = var.statement_timeout_ms
      LOCK_TIMEOUT_MS        = var.lock_timeout_ms
      ALLOW_OVERLAP          = var.allow_overlap
      MAX_RUNTIME_MS         = var.max_runtime_ms
      HISTORY_TABLE          = var.history_table
      HISTORY_RETENTION_DAYS = var.history_table == null ? null : var.history_retention_days
      REPEAT_UNTIL_ZERO      = var.repeat_until_zero
      CONTINUE_ON_DEADLINE   = var.continue_on_deadline
      MAX_CONTINUATIONS      = var.continue_on_deadline ? var.max_continuations : null
      RUST_LOG               = var.log_level
      # RDS API (issue 11)
      DB_CLUSTER_IDENTIFIER     = var.db_cluster_identifier
      DB_INSTANCE_IDENTIFIER    = var.db_instance_identifier
      DB_ENDPOINT               = var.db_endpoint
      WHEN_DATABASE_UNAVAILABLE = var.when_database_unavailable
      READ_ONLY                 = var.read_only ? true : null
      PGHOSTADDR                = var.database_host_address
      # Extraction to S3 (issue 10)
      EXPORT_S3_URI            = local.export_s3_uri
      EXPORT_FORMAT            = try(local.export.format, null)
      EXPORT_HEADER            = try(local.export.format, null) == "csv" ? local.export.header : null
      EXPORT_COMPRESSION       = try(local.export.compression, null)
      EXPORT_COMPRESSION_LEVEL = try(local.export.compression_level, null)
      EXPORT_THREADS           = try(local.export.threads, null)
      EXPORT_KMS_KEY_ID        = try(local.export.kms_key_arn, null)
      EXPORT_BUCKET_OWNER      = try(local.export.expected_bucket_owner, null)
      EXPORT_MANIFEST          = try(local.export.manifest, null)
    } : k => tostring(v) if v != null
  }
  environment = merge(var.environment, local.managed_environment)
}

# A job called on its own gets the shared layer for itself (one job's security group, queue,
# scheduler role, key and topic); in a fleet the jobs map module passes one shared layer to all.
module "shared" {
  source = "../pg_cron_job_shared"
  count  = local.create && var.shared == null ? 1 : 0

  name                                      = var.name
  vpc_id                                    = var.vpc_id
  subnet_ids                                = var.subnet_ids
  database_security_group_id                = var.database_security_group_id
  database_cidr_blocks                      = var.database_cidr_blocks
  database_port                             = var.database_port
  create_database_ingress_rule              = var.create_database_ingress_rule
  secretsmanager_endpoint                   = var.create_secretsmanager_endpoint ? "create" : var.secretsmanager_endpoint_security_group_id != null ? "existing" : "none"
  secretsmanager_endpoint_security_group_id = var.secretsmanager_endpoint_security_group_id
  https_egress_cidr_blocks                  = var.https_egress_cidr_blocks
  create_s3_gateway_endpoint                = var.create_s3_gateway_endpoint
  s3_gateway_route_table_ids                = var.s3_gateway_route_table_ids
  create_kms_key                            = var.create_kms_key
  kms_key_arn                               = var.alarm_kms_key_arn
  create_alarm_topic                        = var.create_alarm_topic
  alarm_topic_arn                           = var.alarm_topic_arn
  alarm_emails                              = var.alarm_emails
  function_names                            = [var.name]
  package_path                              = var.package_path
  package_s3_bucket                         = var.package_s3_bucket
  package_s3_key                            = var.package_s3_key
  package_s3_object_version                 = var.package_s3_object_version
  architecture                              = var.architecture
  watched_schedule_groups                   = [var.schedule_group_name]
  # Itself, for the watchdog to page if its schedule goes missing; through the schedule's own
  # name, so the declaration is written after the schedule exists.
  declared_jobs             = { (local.job_name) = "${var.schedule_group_name}/${try(aws_scheduler_schedule.this[0].name, var.name)}" }
  log_retention_days        = var.log_retention_days
  role_permissions_boundary = var.role_permissions_boundary
  role_path                 = var.role_path
  role_policy_arns          = var.role_policy_arns
  role_inline_policy        = var.role_inline_policy
  role_policy_type          = var.role_policy_type
  tags                      = var.tags
}

resource "aws_lambda_function" "this" {
  count             = local.create ? 1 : 0
  function_name     = var.name
  description       = "pg_cron_job: scheduled SQL job ${local.job_name}"
  role              = local.role_arn
  runtime           = "provided.al2023"
  handler           = "job" # the package's job runner (Lambda passes it as _HANDLER)
  filename          = var.package_path
  source_code_hash  = var.package_path == null ? null : filebase64sha256(var.package_path)
  s3_bucket         = var.package_s3_bucket
  s3_key            = var.package_s3_key
  s3_object_version = var.package_s3_object_version
  # Detach the security group before deleting the function, so its ENIs do not hold the group
  # (and the destroy) for the minutes Lambda takes to release them.
  replace_security_groups_on_destroy = true
  architectures                      = [var.architecture]
  memory_size                        = var.memory_size
  timeout                            = var.timeout
  reserved_concurrent_executions     = var.reserved_concurrent_executions
  kms_key_arn                        = var.kms_key_arn

  environment {
    variables = local.environment
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [local.shared.security_group_id]
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this[0].name
    application_log_level = local.application_log_level
    system_log_level      = "WARN"
  }

  tags = merge(var.tags, var.function_tags)

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.lambda,
    aws_iam_role_policy_attachment.own,
  ]

  lifecycle {
    # A job reaches AWS APIs over HTTPS from its subnets: Secrets Manager through the shared
    # layer's endpoint, S3 through its gateway endpoint; the RDS and Lambda APIs only through a
    # NAT (https_egress_cidr_blocks) or endpoints of your own (their address ranges there too).
    precondition {
      condition     = try(local.shared.network.https_egress, true) || (var.db_cluster_identifier == null && var.db_instance_identifier == null && !var.continue_on_deadline)
      error_message = "${var.name} calls the ${var.continue_on_deadline ? "Lambda API (continue_on_deadline)" : "RDS API (db_cluster_identifier / db_instance_identifier)"}, which its network cannot reach: the shared layer opens HTTPS only to its Secrets Manager endpoint. Give the subnets a NAT and set https_egress_cidr_blocks (e.g. [\"0.0.0.0/0\"]), or create an interface endpoint for the API and put its subnets' CIDRs there."
    }
    # The package's listing (make build writes <zip>.files.json: each file and its SHA-256):
    # sql_file must be in it (check "sql_file_version" below warns of another version).
    precondition {
      condition     = var.sql_file == null || local.package_files == null || contains(keys(coalesce(local.package_files, {})), coalesce(var.sql_file, "-"))
      error_message = "sql_file ${jsonencode(var.sql_file)} is not in the package ${coalesce(var.package_path, "-")} (its SQL files: ${join(", ", local.package_sql_files)}): build it with the file's directory, make build SQL_DIR=<dir> (dir/*.sql become sql/*.sql), or correct sql_file."
    }
    precondition {
      condition     = local.export == null || try(local.shared.network.https_egress || local.shared.network.s3_gateway, true)
      error_message = "${var.name} exports to S3, which its network cannot reach: set create_s3_gateway_endpoint = true with s3_gateway_route_table_ids (free, no NAT needed), or https_egress_cidr_blocks for a NAT."
    }
  }

  # checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments; the role is kept to the secret, logs and ENIs. Runs are traced by the JSON logs and the history table.
  # checkov:skip=CKV_AWS_272:Code signing is the consumer's choice; the package is built from this repository by make build.
  # checkov:skip=CKV_AWS_116:The function is invoked asynchronously by Scheduler; failures go to the on-failure destination (aws_lambda_function_event_invoke_config), which supersedes a DLQ.
  # checkov:skip=CKV_AWS_173:The environment holds no secrets (credentials come from Secrets Manager at run time); kms_key_arn is available for those who want a CMK.
  # checkov:skip=CKV_AWS_363:provided.al2023 is the current OS-only runtime; checkov's runtime list lags behind it.
  # checkov:skip=CKV_AWS_117:The function is attached to the VPC (vpc_config); checkov cannot resolve the security group passed in from the shared layer.
}

# A package from S3 without package_listing_path (or a zip without its listing) cannot be read
# at plan: the plan says so rather than pass the sql_file check silently (the runner checks
# SQL_SHA256 at start-up).
check "sql_file_in_package" {
  assert {
    condition     = var.sql_file == null || local.package_files != null
    error_message = "sql_file ${coalesce(var.sql_file, "-")} of ${var.name} is not checked against its package at plan: ${local.package_unlisted}. A file missing from the package, or another version of it, fails the job's first run."
  }
}

# An edited SQL file shows in the plan as this job's change (SQL_SHA256) before the package is
# rebuilt: a warning, not an error, so the change can be previewed; applied as is, the runner
# would refuse every run ("rebuild the package").
check "sql_file_version" {
  assert {
    condition     = var.sql_file == null || var.sql_source_path == null || try(local.package_files[var.sql_file] == filesha256(var.sql_source_path), true)
    error_message = "The package ${coalesce(var.package_path, "-")} holds another version of ${coalesce(var.sql_file, "-")} than ${coalesce(var.sql_source_path, "-")} (SHA-256 differs): rebuild it (make build SQL_DIR=<dir>) before applying, or the runner refuses every run of ${var.name}."
  }
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count                        = local.create ? 1 : 0
  function_name                = aws_lambda_function.this[0].function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = var.maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = local.shared.failure_queue_arn
    }
  }
}
