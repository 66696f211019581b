# Built-in rotation (var.rotation): the same package's bootstrap, started with ROTATION_STRATEGY,
# serves Secrets Manager's rotation protocol. It runs in the jobs' subnets and security group
# (the database port and HTTPS to Secrets Manager, as the jobs), may touch only this secret (and
# read the master secret for alternating-users), and only Secrets Manager may invoke it, for this
# secret. The rotation itself (aws_secretsmanager_secret_rotation.this) is in secret.tf.
locals {
  # var.rotation with its defaults (variables.tf checks its keys).
  rotation_keys = ["strategy", "schedule", "master_secret_arn", "master_secret_kms_key_arn"]
  rotation = var.rotation == null ? null : {
    strategy                  = coalesce(try(var.rotation.strategy, null), "single-user")
    schedule                  = coalesce(try(var.rotation.schedule, null), "rate(30 days)")
    master_secret_arn         = try(var.rotation.master_secret_arn, null)
    master_secret_kms_key_arn = try(var.rotation.master_secret_kms_key_arn, null)
  }
  rotation_enabled = local.create && local.rotation != null
  # Lambda function names are at most 64 characters: a longer job name is cut and given 8 hex
  # digits of its hash, so two jobs whose names share their first 55 characters still get two
  # rotation functions and log groups (names up to 55 characters keep "<name>-rotation").
  rotation_function_name = length(var.name) <= 55 ? "${var.name}-rotation" : "${substr(var.name, 0, 46)}-${substr(sha256(var.name), 0, 8)}-rotation"
  rotation_master_arn    = try(local.rotation.strategy, null) == "alternating-users" ? local.rotation.master_secret_arn : null

  # What lambda/src/rotation reads: the strategy and the same connection rules as the job.
  rotation_environment = {
    for k, v in {
      ROTATION_STRATEGY = try(local.rotation.strategy, null)
      PGSSLMODE         = var.ssl_mode
      PGHOST            = var.database_host
      PGPORT            = var.database_port
      PGDATABASE        = var.database_name
      RUST_LOG          = var.log_level
    } : k => tostring(v) if v != null
  }
}

resource "aws_cloudwatch_log_group" "rotation" {
  count             = local.rotation_enabled ? 1 : 0
  name              = "/aws/lambda/${local.rotation_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = merge(var.tags, var.log_group_tags)

  # checkov:skip=CKV_AWS_158:log_kms_key_arn sets a customer key; the rotation function never logs a password.
  # checkov:skip=CKV_AWS_338:Retention is the consumer's choice (log_retention_days, default 30 days).
}

resource "aws_iam_role" "rotation" {
  count                = local.rotation_enabled ? 1 : 0
  name_prefix          = "${substr(var.name, 0, 33)}-rot-"
  description          = "pg_cron_job ${var.name}: rotate its secret"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume[0].json
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  tags                 = merge(var.tags, var.role_tags)
}

# The permissions of a rotation function:
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
data "aws_iam_policy_document" "rotation" {
  count = local.rotation_enabled ? 1 : 0

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.rotation[0].arn}:*"]
  }

  # Lambda needs these on "*" to attach the function to the VPC (as AWSLambdaVPCAccessExecutionRole).
  statement {
    sid = "VpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  statement {
    sid = "RotateOwnSecret"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ]
    resources = [local.secret_arn]
  }

  # GetRandomPassword has no resource type.
  statement {
    sid       = "RandomPassword"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = local.rotation_master_arn != null ? [1] : []
    content {
      sid       = "ReadMasterSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [local.rotation_master_arn]
    }
  }

  # A secret encrypted with a customer key: read (Decrypt) and write (GenerateDataKey) through
  # Secrets Manager only.
  dynamic "statement" {
    for_each = var.secret_kms_key_arn != null ? [1] : []
    content {
      sid       = "SecretKeyViaSecretsManager"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.secret_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.rotation_master_arn != null && try(local.rotation.master_secret_kms_key_arn, null) != null ? [1] : []
    content {
      sid       = "MasterSecretKeyViaSecretsManager"
      actions   = ["kms:Decrypt"]
      resources = [local.rotation.master_secret_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  # checkov:skip=CKV_AWS_111:Only the VPC ENI actions and GetRandomPassword (no resource type) use "*"; the secret actions name this secret.
  # checkov:skip=CKV_AWS_356:Same: only the VPC ENI actions and GetRandomPassword use "*".
}

resource "aws_iam_role_policy" "rotation" {
  count  = local.rotation_enabled && var.role_policy_type == "inline" ? 1 : 0
  name   = "pg-cron-job-rotation"
  role   = aws_iam_role.rotation[0].id
  policy = data.aws_iam_policy_document.rotation[0].json

  lifecycle {
    # A role's inline policies together: 10,240 characters without whitespace:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
    precondition {
      condition     = length(jsonencode(jsondecode(data.aws_iam_policy_document.rotation[0].json))) + local.extra_policy_length <= 10240
      error_message = "The rotation role of ${var.name} would have ${length(jsonencode(jsondecode(data.aws_iam_policy_document.rotation[0].json))) + local.extra_policy_length} characters of inline policies; IAM allows 10,240 per role: shorten role_inline_policy or attach it as a managed policy (role_policy_arns)."
    }
  }
}

resource "aws_lambda_function" "rotation" {
  count         = local.rotation_enabled ? 1 : 0
  function_name = local.rotation_function_name
  description   = "pg_cron_job: rotates the secret of ${local.job_name} (${local.rotation.strategy})"
  role          = aws_iam_role.rotation[0].arn
  runtime       = "provided.al2023"
  handler       = "rotation" # the package's rotation program (_HANDLER)
  # The same package as the job: ROTATION_STRATEGY makes bootstrap serve the rotation protocol.
  filename                           = var.package_path
  source_code_hash                   = var.package_path == null ? null : filebase64sha256(var.package_path)
  s3_bucket                          = var.package_s3_bucket
  s3_key                             = var.package_s3_key
  s3_object_version                  = var.package_s3_object_version
  replace_security_groups_on_destroy = true
  architectures                      = [var.architecture]
  memory_size                        = 256
  # Each step is bounded well inside this (connect budget, 15 s per statement).
  timeout     = 60
  kms_key_arn = var.kms_key_arn

  environment {
    variables = local.rotation_environment
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [local.shared.security_group_id]
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.rotation[0].name
    application_log_level = local.application_log_level
    system_log_level      = "WARN"
  }

  tags = merge(var.tags, var.function_tags)

  depends_on = [
    aws_cloudwatch_log_group.rotation,
    aws_iam_role_policy.rotation,
    aws_iam_role_policy_attachment.own,
  ]

  # checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments; the role is kept to the secret, logs and ENIs.
  # checkov:skip=CKV_AWS_272:Code signing is the consumer's choice; the package is built from this repository by make build.
  # checkov:skip=CKV_AWS_116:Secrets Manager invokes the function synchronously and retries a failed step itself; a DLQ would never receive anything.
  # checkov:skip=CKV_AWS_115:Secrets Manager runs one rotation of a secret at a time; reserved concurrency would only take from the account's pool.
  # checkov:skip=CKV_AWS_173:The environment holds no secrets (passwords live in Secrets Manager); kms_key_arn is available for those who want a CMK.
  # checkov:skip=CKV_AWS_363:provided.al2023 is the current OS-only runtime; checkov's runtime list lags behind it.
  # checkov:skip=CKV_AWS_117:The function is attached to the VPC (vpc_config); checkov cannot resolve the security group passed in from the shared layer.
}

# Only Secrets Manager may invoke it, and only for this secret (confused deputy):
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
# https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html
resource "aws_lambda_permission" "rotation" {
  count          = local.rotation_enabled ? 1 : 0
  statement_id   = "SecretsManagerRotation"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.rotation[0].function_name
  principal      = "secretsmanager.amazonaws.com"
  source_arn     = local.secret_arn
  source_account = local.account_id
}

# A rotation step failed: Secrets Manager marks the rotation failed and retries it later, while
# the secret keeps its current password (AWSPENDING is left for the retry); jobs keep running
# until the database is told otherwise. The function's errors are the failed steps.
resource "aws_cloudwatch_metric_alarm" "rotation_errors" {
  count               = local.rotation_enabled ? 1 : 0
  alarm_name          = "${var.name}-rotation-failed"
  alarm_description   = "pg_cron_job ${local.job_name}: a rotation step of the job's secret failed (see the rotation function's log); Secrets Manager retries it"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.rotation[0].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = merge(var.tags, var.alarm_tags)
}
