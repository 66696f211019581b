# The least-privilege policy of one job's execution role, from the job's inputs only (no
# resource of the job): modules/pg_cron_job attaches it to the role it creates, and the jobs map
# (role_per_job = false) merges every job's statements into its shared role's policy, without
# waiting for the jobs themselves (whose functions need that role first).
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id
}

data "aws_iam_policy_document" "this" {

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.log_group_name}:*"]
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
    resources = [var.failure_queue_arn]
  }

  # ... and a queue encrypted with a customer key needs both of these on the key:
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
  dynamic "statement" {
    for_each = var.failure_queue_encrypted ? [1] : []
    content {
      sid       = "EncryptedFailureDestination"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.failure_queue_kms_key_arn]
    }
  }

  dynamic "statement" {
    for_each = var.has_secret ? [1] : []
    content {
      sid       = "ReadOwnSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.secret_arn]
    }
  }

  dynamic "statement" {
    for_each = var.has_secret && var.secret_kms_key_arn != null ? [1] : []
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
      resources = ["arn:${local.partition}:rds:${local.region}:${local.account_id}:db:${var.db_instance_identifier}"]
    }
  }

  # DB_CLUSTER_IDENTIFIER: the runner describes that cluster ...
  dynamic "statement" {
    for_each = var.db_cluster_identifier != null ? [1] : []
    content {
      sid       = "DescribeDatabaseCluster"
      actions   = ["rds:DescribeDBClusters"]
      resources = ["arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster:${var.db_cluster_identifier}"]
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
      resources = ["arn:${local.partition}:rds:${local.region}:${local.account_id}:db:*"]
    }
  }

  # Extraction: CreateMultipartUpload, UploadPart, CompleteMultipartUpload and PutObject (the
  # manifest) are all authorized by s3:PutObject; AbortMultipartUpload (a failed export leaves
  # no parts) by its own action. Only under the prefix:
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
  dynamic "statement" {
    for_each = var.export_bucket_arn != null ? [1] : []
    content {
      sid       = "ExportObjects"
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
      resources = ["${var.export_bucket_arn}/${var.export_prefix}*"]
    }
  }

  # A multipart upload with SSE-KMS needs kms:GenerateDataKey (each part's data key) and
  # kms:Decrypt (to complete the upload), through S3 only:
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
  dynamic "statement" {
    for_each = var.export_kms_key_arn != null ? [1] : []
    content {
      sid       = "ExportEncryption"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.export_kms_key_arn]
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
      resources = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.function_name}"]
    }
  }

  # checkov:skip=CKV_AWS_111:The ENI actions need "*" (Lambda VPC attachment); every other statement names its resource.
  # checkov:skip=CKV_AWS_356:Same: only the VPC ENI actions use "*".
}
