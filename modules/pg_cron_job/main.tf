data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition    = data.aws_partition.current.partition
  region       = data.aws_region.current.name
  account_id   = data.aws_caller_identity.current.account_id
  function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}"
  job_name     = coalesce(var.job_name, var.name)
  secret_arn   = var.create_secret ? aws_secretsmanager_secret.this[0].arn : var.secret_arn

  # Exactly the variables the runner (lambda/) reads; unset inputs are left out.
  managed_environment = {
    for k, v in {
      DB_SECRET_ID           = local.secret_arn
      SQL                    = var.sql
      SQL_FILE               = var.sql_file
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
    } : k => tostring(v) if v != null
  }
  environment = merge(var.environment, local.managed_environment)
}

resource "aws_lambda_function" "this" {
  function_name                  = var.name
  description                    = "pg_cron_job: scheduled SQL job ${local.job_name}"
  role                           = aws_iam_role.lambda.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.lambda.id]
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.lambda,
  ]

  # checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments; the role is kept to the secret, logs and ENIs. Runs are traced by the JSON logs and the history table.
  # checkov:skip=CKV_AWS_272:Code signing is the consumer's choice; the package is built from this repository by make build.
  # checkov:skip=CKV_AWS_116:The function is invoked asynchronously by Scheduler; failures go to the on-failure destination (aws_lambda_function_event_invoke_config), which supersedes a DLQ.
  # checkov:skip=CKV_AWS_173:The environment holds no secrets (credentials come from Secrets Manager at run time); kms_key_arn is available for those who want a CMK.
  # checkov:skip=CKV_AWS_363:provided.al2023 is the current OS-only runtime; checkov's runtime list lags behind it.
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = var.maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }
}
