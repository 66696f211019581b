# The part of a pg_cron_job fleet that exists once per VPC and database: the jobs' security group
# (one rule on the database's group for every job), the Secrets Manager endpoint, the KMS key,
# the alarm topic, the failures queue and the role EventBridge Scheduler uses to start the jobs;
# the watchdog, the fleet's alarms and its dashboard are in watchdog.tf.
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  create     = var.create
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id

  kms_key_arn     = var.create_kms_key ? try(aws_kms_key.this[0].arn, null) : var.kms_key_arn
  encrypted       = var.create_kms_key || var.kms_key_arn != null
  alarm_topic_arn = var.create_alarm_topic ? try(aws_sns_topic.alarms[0].arn, null) : var.alarm_topic_arn
  alarm_actions   = local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]

  # What the scheduler role may invoke: the jobs and the watchdog. Names starting with
  # function_name_prefix (the jobs map passes "<fleet>-") are covered by one wildcard ARN, so the
  # policy does not grow with the fleet; other names are listed one by one.
  function_arns_prefix = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:"
  invoked_names        = concat(var.function_names, var.create_watchdog ? [local.watchdog_name] : [])
  invoked_by_prefix    = var.function_name_prefix == null ? [] : [for n in local.invoked_names : n if startswith(n, var.function_name_prefix)]
  invoked_arns = distinct(concat(
    length(local.invoked_by_prefix) > 0 ? ["${local.function_arns_prefix}${var.function_name_prefix}*"] : [],
    [for n in local.invoked_names : "${local.function_arns_prefix}${n}" if !contains(local.invoked_by_prefix, n)],
  ))

  https_egress_cidr_blocks = var.https_egress_cidr_blocks != null ? var.https_egress_cidr_blocks : (
    var.secretsmanager_endpoint == "none" ? ["0.0.0.0/0"] : []
  )
  endpoint_security_group_id = (
    var.secretsmanager_endpoint == "create" ? try(aws_security_group.endpoint[0].id, null) :
    var.secretsmanager_endpoint == "existing" ? var.secretsmanager_endpoint_security_group_id : null
  )
}

################################################################################
# Security groups and the Secrets Manager endpoint
################################################################################

resource "aws_security_group" "jobs" {
  count       = local.create ? 1 : 0
  name_prefix = "${var.name}-jobs-"
  description = "pg_cron_job ${var.name}: egress to the database port and HTTPS only (jobs and the rotation function)"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, var.security_group_tags, { Name = "${var.name}-jobs" })

  # checkov:skip=CKV2_AWS_5:Attached to the jobs' Lambda functions (and the rotation function) by modules/pg_cron_job, outside this module.

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "database_sg" {
  # Counts use only plan-time-known inputs, so the database security group may be created in the same apply.
  count                        = local.create && length(var.database_cidr_blocks) == 0 ? 1 : 0
  security_group_id            = aws_security_group.jobs[0].id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = var.database_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "database_cidr" {
  for_each          = local.create ? toset(var.database_cidr_blocks) : toset([])
  security_group_id = aws_security_group.jobs[0].id
  description       = "PostgreSQL"
  ip_protocol       = "tcp"
  from_port         = var.database_port
  to_port           = var.database_port
  cidr_ipv4         = each.value
  tags              = var.tags
}

# One rule for the whole fleet (the default quota is 60 inbound rules per security group):
# https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups
resource "aws_vpc_security_group_ingress_rule" "database" {
  count                        = local.create && var.create_database_ingress_rule ? 1 : 0
  security_group_id            = var.database_security_group_id
  description                  = "pg_cron_job ${var.name} jobs"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.jobs[0].id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https" {
  for_each          = local.create ? toset(local.https_egress_cidr_blocks) : toset([])
  security_group_id = aws_security_group.jobs[0].id
  description       = "HTTPS to AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "endpoint" {
  count                        = local.create && var.secretsmanager_endpoint != "none" ? 1 : 0
  security_group_id            = aws_security_group.jobs[0].id
  description                  = "HTTPS to the Secrets Manager endpoint"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = local.endpoint_security_group_id
  tags                         = var.tags
}

resource "aws_security_group" "endpoint" {
  count       = local.create && var.secretsmanager_endpoint == "create" ? 1 : 0
  name_prefix = "${var.name}-sm-endpoint-"
  description = "Secrets Manager endpoint for the pg_cron_job ${var.name} jobs"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, var.endpoint_tags, { Name = "${var.name}-secretsmanager-endpoint" })

  lifecycle {
    create_before_destroy = true
  }
}

# Admits every job (and the rotation function, which uses the same group) on 443, whether the
# endpoint is created here or already exists in the VPC.
resource "aws_vpc_security_group_ingress_rule" "endpoint" {
  count                        = local.create && var.secretsmanager_endpoint != "none" ? 1 : 0
  security_group_id            = local.endpoint_security_group_id
  description                  = "HTTPS from the pg_cron_job ${var.name} jobs"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.jobs[0].id
  tags                         = var.tags
}

# At most one per VPC: AWS refuses a second interface endpoint with private DNS for the same
# service in a VPC (its private hosted zone would conflict), hence "existing" for shared VPCs.
# https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
resource "aws_vpc_endpoint" "secretsmanager" {
  count             = local.create && var.secretsmanager_endpoint == "create" ? 1 : 0
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.secretsmanager"
  vpc_endpoint_type = "Interface"
  # An interface endpoint takes one subnet per Availability Zone (Lambda takes several):
  # https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
  subnet_ids          = coalesce(var.endpoint_subnet_ids, var.subnet_ids)
  security_group_ids  = [aws_security_group.endpoint[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, var.endpoint_tags, { Name = "${var.name}-secretsmanager" })
}

# Extraction jobs write to S3: in private subnets without NAT they need a route to S3. A gateway
# endpoint (no hourly or data charge) adds S3's prefix list to the given route tables; the jobs'
# group then needs egress on 443 to that prefix list (security groups filter gateway traffic by
# prefix list, not by endpoint group):
# https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html
resource "aws_vpc_endpoint" "s3" {
  count             = local.create && var.create_s3_gateway_endpoint ? 1 : 0
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.s3_gateway_route_table_ids
  tags              = merge(var.tags, var.endpoint_tags, { Name = "${var.name}-s3" })
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  count             = local.create && var.create_s3_gateway_endpoint ? 1 : 0
  security_group_id = aws_security_group.jobs[0].id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3[0].prefix_list_id
  tags              = var.tags
}

################################################################################
# KMS key for the alarm topic and the failures queue
################################################################################

data "aws_iam_policy_document" "kms" {
  count = local.create && var.create_kms_key ? 1 : 0

  # checkov:skip=CKV_AWS_111:A key policy's "*" resource means this key only; write access is the account root's (AWS's default key policy), delegated to IAM.
  # checkov:skip=CKV_AWS_356:Same: in a key policy "Resource": "*" is the key the policy is attached to.
  # checkov:skip=CKV_AWS_109:Same: the account-root statement is AWS's default key policy, which makes IAM policies decide.

  # The account's IAM policies decide who else may use the key (the jobs' roles and the
  # scheduler role get kms:GenerateDataKey/kms:Decrypt that way).
  # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
  statement {
    sid       = "EnableIamPolicies"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch alarms publish to an encrypted topic only if the key policy lets the CloudWatch
  # service principal use the key; that is impossible with the AWS managed alias/aws/sns key.
  # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }

  # The recoveries rule (notifications.tf) publishes to the encrypted topic as EventBridge, which
  # needs the same two actions on the key:
  # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
  # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
  dynamic "statement" {
    for_each = var.create_alarm_topic ? ["EventBridgeRecoveriesPublish"] : []
    content {
      sid       = statement.value
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  count                   = local.create && var.create_kms_key ? 1 : 0
  description             = "pg_cron_job ${var.name}: alarm topic and failures queue"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms[0].json
  tags                    = merge(var.tags, var.kms_key_tags)
}

resource "aws_kms_alias" "this" {
  count         = local.create && var.create_kms_key ? 1 : 0
  name          = "alias/${var.name}-pg-cron-job"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# Alarm topic (one for the fleet: one confirmation e-mail per address, not per job)
################################################################################

resource "aws_sns_topic" "alarms" {
  count             = local.create && var.create_alarm_topic ? 1 : 0
  name              = "${var.name}-alarms"
  kms_master_key_id = local.kms_key_arn
  tags              = merge(var.tags, var.alarm_topic_tags)

  # checkov:skip=CKV_AWS_26:Encrypted with the created customer key by default; with create_kms_key = false and no kms_key_arn the topic is unencrypted on purpose (alias/aws/sns would silently drop every alarm).
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = local.create && var.create_alarm_topic ? toset(var.alarm_emails) : toset([])
  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################################
# Failures queue: Scheduler's dead letters and the functions' on-failure records
################################################################################

resource "aws_sqs_queue" "failures" {
  count                     = local.create ? 1 : 0
  name                      = "${var.name}-failures"
  message_retention_seconds = var.failure_queue_retention_seconds
  sqs_managed_sse_enabled   = local.encrypted ? null : true
  kms_master_key_id         = local.kms_key_arn
  tags                      = merge(var.tags, var.failure_queue_tags)
}

################################################################################
# Scheduler role (one for the fleet)
################################################################################

data "aws_iam_policy_document" "scheduler_assume" {
  count = local.create ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = local.create ? 1 : 0
  # IAM role name_prefix is at most 38 characters (64 minus the 26-character unique suffix).
  name_prefix          = "${substr(var.name, 0, 31)}-sched-"
  description          = "pg_cron_job ${var.name}: EventBridge Scheduler invokes the job functions"
  assume_role_policy   = data.aws_iam_policy_document.scheduler_assume[0].json
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  tags                 = merge(var.tags, var.scheduler_role_tags)
}

# Built with jsonencode (not aws_iam_policy_document) so its size is known at plan, also in
# terraform test with a mocked provider: the fleet test checks it against IAM's quotas.
locals {
  scheduler_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      length(local.invoked_arns) > 0 ? [{
        Sid      = "InvokeJobs"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = local.invoked_arns
      }] : [],
      [{
        Sid      = "DeadLetters"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [try(aws_sqs_queue.failures[0].arn, "")]
      }],
      # Sending to a queue encrypted with a customer key needs both actions on the key.
      # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
      # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
      local.encrypted ? [{
        Sid      = "EncryptedDeadLetters"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = [local.kms_key_arn]
      }] : [],
    )
  })
  # IAM counts a role's inline policies together, without whitespace (jsonencode writes none):
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
  extra_policy_length = var.role_inline_policy == null ? 0 : length(try(jsonencode(jsondecode(var.role_inline_policy)), var.role_inline_policy))
}

resource "aws_iam_role_policy" "scheduler" {
  count  = local.create && var.role_policy_type == "inline" ? 1 : 0
  name   = "invoke-jobs"
  role   = aws_iam_role.scheduler[0].id
  policy = local.scheduler_policy

  lifecycle {
    # Role policy size quota (10,240 characters for all of a role's inline policies):
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
    precondition {
      condition     = length(local.scheduler_policy) + local.extra_policy_length <= 10240
      error_message = "The scheduler role's inline policies would have ${length(local.scheduler_policy) + local.extra_policy_length} characters; IAM allows 10,240: name the jobs with function_name_prefix (the jobs map: \"<fleet>-<key>\", the default) so one wildcard covers them, or shorten role_inline_policy."
    }
  }
}
