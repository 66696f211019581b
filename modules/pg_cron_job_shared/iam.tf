# What an organisation adds to every role of the shared layer (the scheduler role and the
# watchdog's): its managed policies and one extra inline policy. The permissions boundary and the
# path are on the roles themselves (main.tf, watchdog.tf). Counts use only the number of ARNs and
# whether the extra policy is set, so the ARNs may come from resources of the same apply.
locals {
  extra_policy_roles = merge(
    local.create ? { scheduler = try(aws_iam_role.scheduler[0].name, null) } : {},
    local.watchdog ? { watchdog = try(aws_iam_role.watchdog[0].name, null) } : {},
  )
  # role x managed policy ARN, by position (the ARNs may be unknown until apply).
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
}

# role_policy_type = "managed": the scheduler's and the watchdog's own documents as customer
# managed policies, one per role, attached instead of inline (SCPs that deny iam:PutRolePolicy).
# A managed policy holds at most 6,144 characters; an account 1,500 customer managed policies by
# default: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
locals {
  own_policies = var.role_policy_type != "managed" ? {} : merge(
    local.create ? { scheduler = { role = try(aws_iam_role.scheduler[0].name, null), policy = local.scheduler_policy } } : {},
    local.watchdog ? { watchdog = { role = try(aws_iam_role.watchdog[0].name, null), policy = local.watchdog_policy } } : {},
  )
}

resource "aws_iam_policy" "own" {
  for_each    = local.own_policies
  name_prefix = "${substr(var.name, 0, 40)}-${each.key}-"
  path        = var.role_path
  description = "pg_cron_job ${var.name}: the ${each.key}'s own permissions"
  policy      = each.value.policy
  tags        = each.key == "scheduler" ? merge(var.tags, var.scheduler_role_tags) : var.tags

  lifecycle {
    precondition {
      condition     = length(each.value.policy) <= 6144
      error_message = "The ${each.key} policy of ${var.name} would have ${length(each.value.policy)} characters; a managed policy holds at most 6,144: ${each.key == "scheduler" ? "name the jobs with function_name_prefix so one wildcard covers them, or " : ""}use role_policy_type = \"inline\" (10,240 per role)."
    }
  }
}

resource "aws_iam_role_policy_attachment" "own" {
  for_each   = local.own_policies
  role       = each.value.role
  policy_arn = aws_iam_policy.own[each.key].arn
}
