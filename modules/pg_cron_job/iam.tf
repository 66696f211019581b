data "aws_iam_policy_document" "lambda_assume" {
  count = local.create ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# The function's role: created here (create_role), or one given by role_arn (a fleet's shared
# role). Either way module.permissions (permissions/) is what this job needs; output
# role_policy_json hands it to whoever owns a shared role.
locals {
  create_role = local.create && var.create_role
  role_arn    = var.create_role ? try(aws_iam_role.lambda[0].arn, null) : var.role_arn
}

resource "aws_iam_role" "lambda" {
  count = local.create_role ? 1 : 0
  # IAM role name_prefix is at most 38 characters (64 minus the 26-character unique suffix).
  name_prefix          = "${substr(var.name, 0, 37)}-"
  description          = "pg_cron_job ${var.name}: read its secret, write its logs, manage its VPC ENIs"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume[0].json
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  tags                 = merge(var.tags, var.role_tags)
}

module "permissions" {
  source = "./permissions"
  count  = local.create ? 1 : 0

  function_name             = var.name
  log_group_name            = "/aws/lambda/${var.name}"
  failure_queue_arn         = local.shared.failure_queue_arn
  failure_queue_encrypted   = local.encrypted
  failure_queue_kms_key_arn = local.shared.kms_key_arn
  has_secret                = var.create_secret || var.secret_arn != null
  secret_arn                = local.secret_arn
  secret_kms_key_arn        = var.secret_kms_key_arn
  auth_mode                 = var.auth_mode
  iam_database_resource_id  = var.iam_database_resource_id
  database_user             = var.database_user
  db_instance_identifier    = var.db_instance_identifier
  db_cluster_identifier     = var.db_cluster_identifier
  export_bucket_arn         = try(local.export.bucket_arn, null)
  export_prefix             = try(local.export.prefix, null)
  export_kms_key_arn        = try(local.export.kms_key_arn, null)
  continue_on_deadline      = var.continue_on_deadline
}

resource "aws_iam_role_policy" "lambda" {
  count  = local.create_role && var.role_policy_type == "inline" ? 1 : 0
  name   = "pg-cron-job"
  role   = aws_iam_role.lambda[0].id
  policy = module.permissions[0].json

  lifecycle {
    # A role's inline policies together: 10,240 characters without whitespace:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
    precondition {
      condition     = length(jsonencode(jsondecode(module.permissions[0].json))) + local.extra_policy_length <= 10240
      error_message = "The role of ${var.name} would have ${length(jsonencode(jsondecode(module.permissions[0].json))) + local.extra_policy_length} characters of inline policies; IAM allows 10,240 per role: shorten role_inline_policy or attach it as a managed policy (role_policy_arns)."
    }
  }
}

# role_policy_type = "managed": the same documents as customer managed policies, one per role,
# attached (SCPs that deny iam:PutRolePolicy allow iam:CreatePolicy/AttachRolePolicy). A managed
# policy holds at most 6,144 characters (inline ones 10,240 per role), and an account 1,500
# customer managed policies by default:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
locals {
  own_policies = var.role_policy_type != "managed" ? {} : merge(
    local.create_role ? { job = { role = try(aws_iam_role.lambda[0].name, null), policy = try(module.permissions[0].json, null) } } : {},
    local.rotation_enabled ? { rotation = { role = try(aws_iam_role.rotation[0].name, null), policy = try(data.aws_iam_policy_document.rotation[0].json, null) } } : {},
  )
}

resource "aws_iam_policy" "own" {
  for_each    = local.own_policies
  name_prefix = "${substr(var.name, 0, 40)}-${each.key}-"
  path        = var.role_path
  description = "pg_cron_job ${var.name}: the ${each.key == "job" ? "job's" : "rotation function's"} own permissions"
  policy      = each.value.policy
  tags        = merge(var.tags, var.role_tags)

  lifecycle {
    precondition {
      condition     = length(each.value.policy) <= 6144
      error_message = "The ${each.key} policy of ${var.name} would have ${length(each.value.policy)} characters; a managed policy holds at most 6,144: use role_policy_type = \"inline\" (10,240 per role)."
    }
  }
}

resource "aws_iam_role_policy_attachment" "own" {
  for_each   = local.own_policies
  role       = each.value.role
  policy_arn = aws_iam_policy.own[each.key].arn
}

# What an organisation adds to the job's role and the rotation function's: its managed policies
# and one extra inline policy (role_policy_arns, role_inline_policy; the boundary and the path
# are on the roles). Counts use only the number of ARNs and whether the extra policy is set, so
# the ARNs may come from resources of the same apply. Without `shared` the job's own shared
# layer gives its scheduler and watchdog roles the same (main.tf).
locals {
  # IAM measures a policy without whitespace (jsonencode writes none).
  extra_policy_length = var.role_inline_policy == null ? 0 : length(try(jsonencode(jsondecode(var.role_inline_policy)), var.role_inline_policy))
  extra_policy_roles = merge(
    local.create_role ? { job = try(aws_iam_role.lambda[0].name, null) } : {},
    local.rotation_enabled ? { rotation = try(aws_iam_role.rotation[0].name, null) } : {},
  )
  extra_policy_attachments = flatten([
    for role in sort(keys(local.extra_policy_roles)) : [
      for i in range(length(var.role_policy_arns)) : { role = role, index = i }
    ]
  ])
}

resource "aws_iam_role_policy_attachment" "extra" {
  count      = length(local.extra_policy_attachments)
  role       = local.extra_policy_roles[local.extra_policy_attachments[count.index].role]
  policy_arn = var.role_policy_arns[local.extra_policy_attachments[count.index].index]
}

resource "aws_iam_role_policy" "extra" {
  for_each = var.role_inline_policy != null ? toset(keys(local.extra_policy_roles)) : toset([])
  name     = "extra"
  role     = local.extra_policy_roles[each.key]
  policy   = var.role_inline_policy

  lifecycle {
    precondition {
      condition     = local.extra_policy_length <= 10240
      error_message = "role_inline_policy has ${local.extra_policy_length} characters (without whitespace); IAM allows 10,240 for all of a role's inline policies: split it into managed policies (role_policy_arns)."
    }
  }
}
