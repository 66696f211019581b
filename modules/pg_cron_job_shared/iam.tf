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
