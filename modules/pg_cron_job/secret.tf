# A dedicated job user's secret. The password (two crypto-random UUIDs, 244 random bits) is
# written through the write-only secret_string_wo, so it is never stored in the plan or the
# state; it only changes when secret_password_version is bumped. uuid() needs no extra provider
# and, unlike an ephemeral resource, works under `terraform test` mocks.
locals {
  generated_password = "${replace(uuid(), "-", "")}${replace(uuid(), "-", "")}"
}

resource "aws_secretsmanager_secret" "this" {
  count                   = local.create && var.create_secret ? 1 : 0
  name_prefix             = "${var.name}-db-"
  description             = "PostgreSQL credentials of pg_cron_job ${var.name} (RDS secret format)"
  kms_key_id              = var.secret_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = merge(var.tags, var.secret_tags)

  # checkov:skip=CKV2_AWS_57:Rotation is the consumer's choice: aws_secretsmanager_secret_rotation is created with rotation (built-in function) or rotation_lambda_arn.
  # checkov:skip=CKV_AWS_149:secret_kms_key_arn sets a customer key; the default AWS managed key is a valid choice.
}

resource "aws_secretsmanager_secret_version" "this" {
  count     = local.create && var.create_secret ? 1 : 0
  secret_id = aws_secretsmanager_secret.this[0].id
  secret_string_wo = jsonencode(merge({
    engine   = "postgres"
    host     = var.database_host
    port     = var.database_port
    username = var.secret_username
    password = local.generated_password
    dbname   = coalesce(var.database_name, "postgres")
    }, try(local.rotation.strategy, null) == "alternating-users" ? {
    # The alternating-users rotation logs in with the master secret named here.
    masterarn = local.rotation.master_secret_arn
  } : {}))
  secret_string_wo_version = var.secret_password_version
}

# Rotation: built in (rotation, the function in rotation.tf rotates the created secret or the
# given secret_arn) or a function you bring (rotation_lambda_arn, created secret only).
resource "aws_secretsmanager_secret_rotation" "this" {
  count               = local.create && (local.rotation != null || (var.create_secret && var.rotation_lambda_arn != null)) ? 1 : 0
  secret_id           = local.secret_arn
  rotation_lambda_arn = local.rotation != null ? aws_lambda_function.rotation[0].arn : var.rotation_lambda_arn
  # Not at apply: the DBA sets the created user's password first (README, "Rotation").
  rotate_immediately = false

  rotation_rules {
    automatically_after_days = local.rotation == null ? var.rotation_days : null
    schedule_expression      = local.rotation == null ? null : local.rotation.schedule
  }

  # checkov:skip=CKV_AWS_304:The interval is the consumer's choice (rotation.schedule, default rate(30 days); rotation_days, default 30); checkov cannot evaluate the conditional that picks one.

  depends_on = [
    aws_secretsmanager_secret_version.this,
    aws_lambda_permission.rotation,
    aws_iam_role_policy.rotation,
    aws_iam_role_policy_attachment.own,
  ]
}
