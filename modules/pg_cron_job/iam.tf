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

resource "aws_iam_role" "lambda" {
  count = local.create ? 1 : 0
  # IAM role name_prefix is at most 38 characters (64 minus the 26-character unique suffix).
  name_prefix          = "${substr(var.name, 0, 37)}-"
  description          = "pg_cron_job ${var.name}: read its secret, write its logs, manage its VPC ENIs"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume[0].json
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  tags                 = merge(var.tags, var.role_tags)
}

data "aws_iam_policy_document" "lambda" {
  count = local.create ? 1 : 0

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
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

  # The on-failure destination is sent with the function's execution role:
  # https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
  statement {
    sid       = "FailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [local.shared.failure_queue_arn]
  }

  # ... and a queue encrypted with a customer key needs both of these on the key:
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
  dynamic "statement" {
    for_each = local.encrypted ? [1] : []
    content {
      sid       = "EncryptedFailureDestination"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [local.shared.kms_key_arn]
    }
  }

  dynamic "statement" {
    for_each = local.secret_arn != null ? [1] : []
    content {
      sid       = "ReadOwnSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [local.secret_arn]
    }
  }

  dynamic "statement" {
    for_each = local.secret_arn != null && var.secret_kms_key_arn != null ? [1] : []
    content {
      sid       = "DecryptSecretViaSecretsManager"
      actions   = ["kms:Decrypt"]
      resources = [var.secret_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.auth_mode == "iam" && var.iam_database_resource_id != null && var.database_user != null ? [1] : []
    content {
      sid       = "IamDatabaseAuth"
      actions   = ["rds-db:connect"]
      resources = ["arn:${local.partition}:rds-db:${local.region}:${local.account_id}:dbuser:${var.iam_database_resource_id}/${var.database_user}"]
    }
  }

  # DB_INSTANCE_IDENTIFIER: the runner describes that instance only.
  dynamic "statement" {
    for_each = var.db_instance_identifier != null ? [1] : []
    content {
      sid       = "DescribeDatabaseInstance"
      actions   = ["rds:DescribeDBInstances"]
      resources = ["${local.rds_arn_prefix}:db:${var.db_instance_identifier}"]
    }
  }

  # DB_CLUSTER_IDENTIFIER: the runner describes that cluster ...
  dynamic "statement" {
    for_each = var.db_cluster_identifier != null ? [1] : []
    content {
      sid       = "DescribeDatabaseCluster"
      actions   = ["rds:DescribeDBClusters"]
      resources = ["${local.rds_arn_prefix}:cluster:${var.db_cluster_identifier}"]
    }
  }

  # ... and, after a failover, the cluster's current writer instance. Which instance that is is
  # known only at run time (members are added, replaced and renamed without a plan), so the
  # grant covers this account's instances in this region; DescribeDBInstances is read-only
  # metadata (no data, no credentials). Resource types of rds:DescribeDBInstances:
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html
  dynamic "statement" {
    for_each = var.db_cluster_identifier != null ? [1] : []
    content {
      sid       = "DescribeClusterWriterInstance"
      actions   = ["rds:DescribeDBInstances"]
      resources = ["${local.rds_arn_prefix}:db:*"]
    }
  }

  # Extraction: CreateMultipartUpload, UploadPart, CompleteMultipartUpload and PutObject (the
  # manifest) are all authorized by s3:PutObject; AbortMultipartUpload (a failed export leaves
  # no parts) by its own action. Only under the prefix:
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
  dynamic "statement" {
    for_each = local.export != null ? [1] : []
    content {
      sid       = "ExportObjects"
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
      resources = [local.export_objects_arn]
    }
  }

  # A multipart upload with SSE-KMS needs kms:GenerateDataKey (each part's data key) and
  # kms:Decrypt (to complete the upload), through S3 only:
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
  dynamic "statement" {
    for_each = try(local.export.kms_key_arn, null) != null ? [1] : []
    content {
      sid       = "ExportEncryption"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [local.export.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.continue_on_deadline ? [1] : []
    content {
      sid       = "InvokeSelfForContinuation"
      actions   = ["lambda:InvokeFunction"]
      resources = [local.function_arn]
    }
  }

  # checkov:skip=CKV_AWS_111:The ENI actions need "*" (Lambda VPC attachment); every other statement names its resource.
  # checkov:skip=CKV_AWS_356:Same: only the VPC ENI actions use "*".
}

resource "aws_iam_role_policy" "lambda" {
  count  = local.create ? 1 : 0
  name   = "pg-cron-job"
  role   = aws_iam_role.lambda[0].id
  policy = data.aws_iam_policy_document.lambda[0].json
}

# What an organisation adds to the job's role and the rotation function's: its managed policies
# and one extra inline policy (role_policy_arns, role_inline_policy; the boundary and the path
# are on the roles). Counts use only the number of ARNs and whether the extra policy is set, so
# the ARNs may come from resources of the same apply. Without `shared` the job's own shared
# layer gives its scheduler and watchdog roles the same (main.tf).
locals {
  extra_policy_roles = merge(
    local.create ? { job = try(aws_iam_role.lambda[0].name, null) } : {},
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
}
