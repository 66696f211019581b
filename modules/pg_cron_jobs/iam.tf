# role_per_job = false: one execution role for every job of the map. An account holds 1,000 IAM
# roles by default (5,000 at most), so a 1,000-job fleet with a role per job needs a quota
# increase before its first apply:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities
#
# The shared role's policy is the union of what each job needs: the statements a role of its own
# would get (modules/pg_cron_job/permissions, per job), the statements of one Sid merged into one
# with the union of their resources. Per-job resources that would make the policy grow with the fleet are covered
# by the fleet's name prefix "<fleet>-" instead: the jobs' log groups (/aws/lambda/<fleet>-*) and
# the secrets the map creates (<fleet>-<key>-db-...). A job named outside the prefix (its `name`)
# and secrets given by ARN are listed one by one: the policy grows with the distinct secrets,
# database users, export prefixes and keys, not with the jobs.
locals {
  shared_role      = var.create && !var.role_per_job
  role_policy_type = coalesce(var.role_policy_type, "inline") # modules/pg_cron_job_shared's default
  job_statements   = flatten([for k, p in module.permissions : p.statements])
  job_sids         = distinct([for s in local.job_statements : s.sid])
  job_conditions   = { for sid in local.job_sids : sid => [for s in local.job_statements : s.condition if s.sid == sid][0] }
  # "<fleet>-" in a regular expression (the fleet name is letters, digits, '-' and '_').
  fleet_prefix      = "${var.name}-"
  log_group_pattern = "/^(arn:[^:]+:logs:[^:]+:[0-9]+:log-group:/aws/lambda/)${local.fleet_prefix}[^:]*(:\\*)$/"
  secret_pattern    = "/^(arn:[^:]+:secretsmanager:[^:]+:[0-9]+:secret:)${local.fleet_prefix}.*-db-.*$/"
  shared_role_statements = [for sid in local.job_sids : merge(
    {
      Sid      = sid
      Effect   = "Allow"
      Action   = sort(distinct(flatten([for s in local.job_statements : s.actions if s.sid == sid])))
      Resource = sort(distinct([for r in flatten([for s in local.job_statements : s.resources if s.sid == sid]) : replace(replace(r, local.log_group_pattern, "$${1}${local.fleet_prefix}*$${2}"), local.secret_pattern, "$${1}${local.fleet_prefix}*-db-*")]))
    },
    # A statement's condition is the same for every job (kms:ViaService of this region).
    try(length(local.job_conditions[sid]), 0) == 0 ? {} : {
      Condition = { for c in local.job_conditions[sid] : c.test => { (c.variable) = c.values } }
    },
  )]
  # Built with jsonencode, so that its size is known at plan (terraform test checks it).
  shared_role_policy = jsonencode({ Version = "2012-10-17", Statement = local.shared_role_statements })
  shared_role_policy_limit = local.role_policy_type == "managed" ? 6144 : 10240 - (
    var.role_inline_policy == null ? 0 : length(try(jsonencode(jsondecode(var.role_inline_policy)), var.role_inline_policy))
  )
  # What the jobs get as role_arn: the ARN read through the policy, so that no function is
  # created before its role may attach it to the VPC (Lambda checks the ENI permissions at
  # CreateFunction).
  shared_role_arn = local.shared_role ? one([for id in concat(aws_iam_role_policy.jobs[*].id, aws_iam_role_policy_attachment.jobs[*].id) : aws_iam_role.jobs[0].arn]) : null
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

# Each job's own statements, from the same facts its module gets (main.tf, local.job_access).
# A secret the map creates is named "<function name>-db-..." (modules/pg_cron_job/secret.tf):
# its ARN is known only once it exists, after the role, so its name pattern stands for it.
module "permissions" {
  source   = "../pg_cron_job/permissions"
  for_each = { for k, j in var.jobs : k => j if local.shared_role }

  function_name             = local.function_names[each.key]
  log_group_name            = "/aws/lambda/${local.function_names[each.key]}"
  failure_queue_arn         = module.shared.job_inputs.failure_queue_arn
  failure_queue_encrypted   = module.shared.job_inputs.kms_encrypted
  failure_queue_kms_key_arn = module.shared.job_inputs.kms_key_arn
  has_secret                = local.job_access[each.key].create_secret == true || local.job_access[each.key].secret_arn != null
  secret_arn                = local.job_access[each.key].create_secret == true ? "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:secret:${local.function_names[each.key]}-db-*" : local.job_access[each.key].secret_arn
  secret_kms_key_arn        = local.job_access[each.key].secret_kms_key_arn
  auth_mode                 = local.job_access[each.key].auth_mode
  iam_database_resource_id  = local.job_access[each.key].iam_database_resource_id
  database_user             = local.job_access[each.key].database_user
  db_instance_identifier    = local.job_access[each.key].db_instance_identifier
  db_cluster_identifier     = local.job_access[each.key].db_cluster_identifier
  export_bucket_arn         = try(each.value.export.bucket_arn, null)
  export_prefix             = try(each.value.export.prefix, null)
  export_kms_key_arn        = try(each.value.export.kms_key_arn, null)
  continue_on_deadline      = local.job_access[each.key].continue_on_deadline
}

data "aws_iam_policy_document" "jobs_assume" {
  count = local.shared_role ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "jobs" {
  count = local.shared_role ? 1 : 0
  # IAM role name_prefix is at most 38 characters (64 minus the 26-character unique suffix).
  name_prefix          = "${substr(var.name, 0, 31)}-jobs-"
  description          = "pg_cron_job ${var.name}: the execution role of every job of the fleet"
  assume_role_policy   = data.aws_iam_policy_document.jobs_assume[0].json
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  tags                 = var.tags
}

resource "aws_iam_role_policy" "jobs" {
  count  = local.shared_role && local.role_policy_type == "inline" ? 1 : 0
  name   = "pg-cron-jobs"
  role   = aws_iam_role.jobs[0].id
  policy = local.shared_role_policy

  lifecycle {
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
    precondition {
      condition     = length(local.shared_role_policy) <= local.shared_role_policy_limit
      error_message = "The fleet's shared job role policy would have ${length(local.shared_role_policy)} characters; IAM allows ${local.shared_role_policy_limit} (10,240 for a role's inline policies together): the jobs name too many distinct secrets, database users, export prefixes or functions outside \"${var.name}-\". Let jobs share secrets, or set role_per_job = true."
    }
  }
}

resource "aws_iam_policy" "jobs" {
  count       = local.shared_role && local.role_policy_type == "managed" ? 1 : 0
  name_prefix = "${substr(var.name, 0, 40)}-jobs-"
  path        = var.role_path
  description = "pg_cron_job ${var.name}: what every job of the fleet needs"
  policy      = local.shared_role_policy
  tags        = var.tags

  lifecycle {
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
    precondition {
      condition     = length(local.shared_role_policy) <= 6144
      error_message = "The fleet's shared job role policy would have ${length(local.shared_role_policy)} characters; a managed policy holds at most 6,144: the jobs name too many distinct secrets, database users, export prefixes or functions outside \"${var.name}-\". Let jobs share secrets, use role_policy_type = \"inline\" (10,240), or role_per_job = true."
    }
  }
}

resource "aws_iam_role_policy_attachment" "jobs" {
  count      = local.shared_role && local.role_policy_type == "managed" ? 1 : 0
  role       = aws_iam_role.jobs[0].name
  policy_arn = aws_iam_policy.jobs[0].arn
}

# The fleet's role_policy_arns and role_inline_policy on the shared role (a job's own lists
# reach its rotation role only).
resource "aws_iam_role_policy_attachment" "jobs_extra" {
  count      = local.shared_role ? length(var.role_policy_arns) : 0
  role       = aws_iam_role.jobs[0].name
  policy_arn = var.role_policy_arns[count.index]
}

resource "aws_iam_role_policy" "jobs_extra" {
  count  = local.shared_role && var.role_inline_policy != null ? 1 : 0
  name   = "extra"
  role   = aws_iam_role.jobs[0].id
  policy = var.role_inline_policy
}
