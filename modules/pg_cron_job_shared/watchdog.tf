# The fleet's watchdog: the same package with handler "watchdog", outside the VPC by default (it
# calls only the Scheduler, CloudWatch and SSM APIs and reaches no database; watchdog_in_vpc
# attaches it to the VPC, see "Watchdog in the VPC" below), on its own rate schedule. Every
# check it reads the fleet's schedules (those whose target input carries this fleet's `watch`
# object) and the jobs' Runs metric, and writes per job `Late` / `LateSeconds` (Embedded Metric
# Format in its log) that each job's late alarm reads. See the README's "Alarms".

locals {
  watchdog     = local.create && var.create_watchdog
  watchdog_vpc = local.watchdog && var.watchdog_in_vpc
  # Function and schedule names are at most 64 characters: a long fleet name is shortened with a
  # hash of the whole name (unique per name).
  watchdog_name      = length(var.name) <= 55 ? "${var.name}-watchdog" : "${substr(var.name, 0, 46)}-${substr(sha1(var.name), 0, 8)}-watchdog"
  watchdog_arn       = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.watchdog_name}"
  watchdog_period    = try(tonumber(regex("^rate\\(([0-9]+) minutes?\\)$", var.watchdog_schedule_expression)[0]) * 60, 300)
  metrics_namespace  = "PgCronJob"
  watched_groups     = distinct(var.watched_schedule_groups)
  watchdog_log_group = "/aws/lambda/${local.watchdog_name}"

  # Exactly the variables the watchdog (lambda/functions/src/watchdog) reads.
  watchdog_environment = {
    for k, v in {
      WATCH_FLEET           = var.name
      WATCH_SCHEDULE_GROUPS = join(",", local.watched_groups)
      WATCH_PERIOD_SECONDS  = local.watchdog_period
      WATCH_DECLARED_PATH   = local.declared ? local.declared_path : null
      METRICS_NAMESPACE     = local.metrics_namespace
      RUST_LOG              = "info"
    } : k => tostring(v) if v != null
  }
}

################################################################################
# Declared jobs: what Terraform created, so that a schedule deleted outside Terraform pages
################################################################################

# The watchdog reads the jobs of WATCH_DECLARED_PATH with ssm:GetParametersByPath (not
# recursive): String parameters <path>/000, /001, ... each a JSON object of job name ->
# "<group>/<schedule>", a declared job whose schedule is missing is late ("missing"). Standard
# tier (free): a value holds at most 4 KB, so the sorted map is cut into chunks that fit. Every
# entry `"job":"group/name"` is measured in bytes (UTF-8, from its base64 length, so a non-ASCII
# job name counts what it weighs), and a chunk takes as many as the longest entry allows:
# 2 braces + n entries + (n - 1) commas <= 4096.
# https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
locals {
  declared      = local.watchdog && length(var.declared_jobs) > 0
  declared_path = "/pg-cron-job/${var.name}/declared"
  declared_keys = sort(keys(var.declared_jobs))
  declared_entry_bytes = [for k in local.declared_keys : (
    length(base64encode(jsonencode({ (k) = var.declared_jobs[k] }))) / 4 * 3
    -length(regexall("=", substr(base64encode(jsonencode({ (k) = var.declared_jobs[k] })), -2, 2)))
    -2
  )]
  declared_per_chunk = max(1, floor(4094 / (max(concat([1], local.declared_entry_bytes)...) + 1)))
  declared_chunks = {
    for i, keys in chunklist(local.declared_keys, local.declared_per_chunk) :
    format("%03d", i) => jsonencode({ for k in keys : k => var.declared_jobs[k] })
  }
  # The value's size in bytes, as Parameter Store counts it.
  declared_chunk_bytes = { for i, v in local.declared_chunks : i => length(base64encode(v)) / 4 * 3 - length(regexall("=", substr(base64encode(v), -2, 2))) }
}

resource "aws_ssm_parameter" "declared" {
  for_each    = local.declared ? local.declared_chunks : {}
  name        = "${local.declared_path}/${each.key}"
  description = "pg_cron_job ${var.name}: jobs the watchdog expects (job -> group/schedule), part ${each.key}"
  type        = "String"
  tier        = "Standard"
  data_type   = "text"
  # Not a secret (job and schedule names): shown in the plan.
  insecure_value = each.value
  tags           = var.tags

  # checkov:skip=CKV2_AWS_34:Job and schedule names, not secrets: a String parameter the watchdog reads without kms:Decrypt.
  # checkov:skip=CKV_AWS_337:Same: a String parameter has no KMS key (only SecureString does).

  lifecycle {
    # Standard parameters hold at most 4 KB (advanced ones cost per parameter and month):
    # https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
    precondition {
      condition     = local.declared_chunk_bytes[each.key] <= 4096
      error_message = "SSM parameter ${local.declared_path}/${each.key} would hold ${local.declared_chunk_bytes[each.key]} bytes of declared jobs; a standard parameter holds at most 4096: shorten the job names (job_name) of the fleet."
    }
  }
}

resource "aws_cloudwatch_log_group" "watchdog" {
  count             = local.watchdog ? 1 : 0
  name              = local.watchdog_log_group
  retention_in_days = var.log_retention_days
  tags              = var.tags

  # checkov:skip=CKV_AWS_158:The watchdog's log holds job names and states, no data or credentials.
  # checkov:skip=CKV_AWS_338:Retention is the consumer's choice (log_retention_days, default 30 days).
}

data "aws_iam_policy_document" "watchdog_assume" {
  count = local.watchdog ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "watchdog" {
  count = local.watchdog ? 1 : 0
  # IAM role name_prefix is at most 38 characters (64 minus the 26-character unique suffix).
  name_prefix          = "${substr(var.name, 0, 31)}-wdog-"
  description          = "pg_cron_job ${var.name}: the watchdog reads the fleet's schedules and run metrics"
  assume_role_policy   = data.aws_iam_policy_document.watchdog_assume[0].json
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  tags                 = var.tags
}

# Read-only: its own log, the fleet's schedule groups, the run metrics. Built with jsonencode
# (its size is known at plan; the fleet test checks it against IAM's quotas); it grows with the
# watched groups only (at most 20), not with the jobs.
locals {
  watchdog_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "OwnLog"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${try(aws_cloudwatch_log_group.watchdog[0].arn, "")}:*"]
      },
      # ListSchedules has no resource type (it lists within a group given as a parameter):
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html
      {
        Sid      = "ListSchedules"
        Effect   = "Allow"
        Action   = ["scheduler:ListSchedules"]
        Resource = ["*"]
      },
      # GetSchedule on the schedules of the watched groups only (resource type schedule:
      # arn:${Partition}:scheduler:${Region}:${Account}:schedule/${GroupName}/${ScheduleName}).
      {
        Sid      = "ReadFleetSchedules"
        Effect   = "Allow"
        Action   = ["scheduler:GetSchedule"]
        Resource = [for g in local.watched_groups : "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${g}/*"]
      },
      # GetMetricData supports no resource-level permissions:
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
      {
        Sid      = "ReadRunMetrics"
        Effect   = "Allow"
        Action   = ["cloudwatch:GetMetricData"]
        Resource = ["*"]
      },
      ], local.watchdog_vpc ? [
      # In the VPC (watchdog_in_vpc): Lambda creates and manages the function's network interfaces
      # with its execution role, these on "*" (DescribeNetworkInterfaces works only on "*"), as
      # AWSLambdaVPCAccessExecutionRole and the jobs' roles (modules/pg_cron_job/iam.tf):
      # https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
      {
        Sid    = "VpcNetworkInterfaces"
        Effect = "Allow"
        Action = [
          "ec2:CreateNetworkInterface",
          "ec2:DescribeNetworkInterfaces",
          "ec2:DescribeSubnets",
          "ec2:DeleteNetworkInterface",
          "ec2:AssignPrivateIpAddresses",
          "ec2:UnassignPrivateIpAddresses",
        ]
        Resource = ["*"]
      },
      ] : [], local.declared ? [
      # GetParametersByPath on the declared jobs' path (resource type parameter:
      # arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}),
      # the path itself and the parameters under it; one statement whatever the fleet's size:
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
      {
        Sid    = "ReadDeclaredJobs"
        Effect = "Allow"
        Action = ["ssm:GetParametersByPath"]
        Resource = [
          "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.declared_path}",
          "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.declared_path}/*",
        ]
      },
    ] : [])
  })
}

resource "aws_iam_role_policy" "watchdog" {
  count  = local.watchdog && var.role_policy_type == "inline" ? 1 : 0
  name   = "watchdog"
  role   = aws_iam_role.watchdog[0].id
  policy = local.watchdog_policy

  lifecycle {
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
    precondition {
      condition     = length(local.watchdog_policy) + local.extra_policy_length <= 10240
      error_message = "The watchdog role's inline policies would have ${length(local.watchdog_policy) + local.extra_policy_length} characters; IAM allows 10,240: shorten role_inline_policy."
    }
  }
}

resource "aws_lambda_function" "watchdog" {
  count         = local.watchdog ? 1 : 0
  function_name = local.watchdog_name
  description   = "pg_cron_job ${var.name}: watches that every job of the fleet starts on schedule"
  role          = aws_iam_role.watchdog[0].arn
  runtime       = "provided.al2023"
  handler       = "watchdog" # the package's watchdog (Lambda passes it as _HANDLER)
  filename      = var.package_path
  # Only when the watchdog exists (a package is required then; filebase64sha256 needs a file).
  source_code_hash  = var.package_path == null ? null : filebase64sha256(var.package_path)
  s3_bucket         = var.package_s3_bucket
  s3_key            = var.package_s3_key
  s3_object_version = var.package_s3_object_version
  architectures     = [var.architecture]
  memory_size       = var.watchdog_memory_size
  timeout           = var.watchdog_timeout
  # In the VPC: detach the security group before deleting the function, so its ENIs do not hold
  # the group (and the destroy) for the minutes Lambda takes to release them.
  replace_security_groups_on_destroy = local.watchdog_vpc ? true : null

  environment {
    variables = local.watchdog_environment
  }

  # watchdog_in_vpc: the jobs' subnets and the watchdog's own group (HTTPS egress only). A VPC
  # function has no internet access without a NAT, hence watchdog_vpc_endpoints:
  # https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html
  dynamic "vpc_config" {
    for_each = local.watchdog_vpc ? [var.subnet_ids] : []
    content {
      subnet_ids         = vpc_config.value
      security_group_ids = [aws_security_group.watchdog[0].id]
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.watchdog[0].name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.watchdog,
    aws_iam_role_policy.watchdog,
    aws_iam_role_policy_attachment.own,
  ]

  # checkov:skip=CKV_AWS_117:Outside the VPC by default on purpose (it calls only the Scheduler, CloudWatch and SSM APIs and reaches no database); with watchdog_in_vpc = true it is attached through a dynamic vpc_config, which checkov does not resolve.
  # checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments; the watchdog's states are in its log and its result.
  # checkov:skip=CKV_AWS_272:Code signing is the consumer's choice; the package is built from this repository by make build.
  # checkov:skip=CKV_AWS_116:Invoked by its schedule; a failed delivery goes to the failures queue (the schedule's dead-letter queue), which is alarmed.
  # checkov:skip=CKV_AWS_173:The environment holds no secrets (fleet name, groups, period).
  # checkov:skip=CKV_AWS_363:provided.al2023 is the current OS-only runtime; checkov's runtime list lags behind it.
  # checkov:skip=CKV_AWS_115:Reserved concurrency would come out of the account's unreserved pool (new accounts may not go below 10); two overlapping checks publish the same states.
}

################################################################################
# Watchdog in the VPC (watchdog_in_vpc): its security group and the way to its three APIs
################################################################################

# The watchdog calls exactly three APIs over HTTPS: EventBridge Scheduler (ListSchedules,
# GetSchedule), CloudWatch (GetMetricData; its EMF lines go out through Lambda's log stream, no
# API call) and, with declared jobs, SSM Parameter Store (GetParametersByPath). In the VPC it
# reaches them through interface endpoints created here ("create"), the VPC's own ("existing")
# or a NAT ("none"):
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/vpc-interface-endpoints.html
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-interface-VPC.html
# https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html
# An interface endpoint is billed per hour in each Availability Zone it has a subnet in ($0.01
# per endpoint and AZ-hour in us-east-1, about $7.30 a month; more in some regions) plus per GB
# processed ($0.01): "create" in 2 AZs is 2 endpoints (3 with declared jobs) x 2 AZs, about $29
# ($44) a month. https://aws.amazon.com/privatelink/pricing/
locals {
  watchdog_endpoint_services = local.watchdog_vpc && var.watchdog_vpc_endpoints == "create" ? concat(["scheduler", "monitoring"], local.declared ? ["ssm"] : []) : []
  # "none": HTTPS through the subnets' NAT, to https_egress_cidr_blocks (null: anywhere).
  watchdog_https_cidr_blocks = local.watchdog_vpc && var.watchdog_vpc_endpoints == "none" ? (var.https_egress_cidr_blocks != null ? var.https_egress_cidr_blocks : ["0.0.0.0/0"]) : []
  # The endpoints' security groups: the created one ("create") or the VPC's ("existing"). Rules
  # by position, as the given IDs may be unknown until apply (counts need only their number).
  watchdog_endpoint_security_group_ids = !local.watchdog_vpc ? [] : (
    var.watchdog_vpc_endpoints == "create" ? [try(aws_security_group.watchdog_endpoints[0].id, null)] :
    var.watchdog_vpc_endpoints == "existing" ? var.watchdog_endpoint_security_group_ids : []
  )
}

resource "aws_security_group" "watchdog" {
  count       = local.watchdog_vpc ? 1 : 0
  name_prefix = "${var.name}-watchdog-"
  description = "pg_cron_job ${var.name}: the watchdog, egress HTTPS to the Scheduler, CloudWatch and SSM APIs only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, var.security_group_tags, { Name = "${var.name}-watchdog" })

  lifecycle {
    create_before_destroy = true
    precondition {
      condition     = var.watchdog_vpc_endpoints != "none" || length(local.watchdog_https_cidr_blocks) > 0
      error_message = "The watchdog in the VPC (watchdog_in_vpc) with watchdog_vpc_endpoints = \"none\" reaches its APIs through a NAT on https_egress_cidr_blocks, which is empty: set it to null (0.0.0.0/0) or to your NAT's reachable ranges, or use watchdog_vpc_endpoints = \"create\" or \"existing\"."
    }
  }
}

# A new group has no egress rule (Terraform removes AWS's default allow-all one): the watchdog
# may open HTTPS only, to the endpoints' group or, through a NAT, to the given ranges.
# https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-group-rules.html
resource "aws_vpc_security_group_egress_rule" "watchdog_https" {
  for_each          = toset(local.watchdog_https_cidr_blocks)
  security_group_id = aws_security_group.watchdog[0].id
  description       = "HTTPS to the Scheduler, CloudWatch and SSM APIs through the NAT"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "watchdog_endpoints" {
  count                        = length(local.watchdog_endpoint_security_group_ids)
  security_group_id            = aws_security_group.watchdog[0].id
  description                  = "HTTPS to the Scheduler, CloudWatch and SSM endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = local.watchdog_endpoint_security_group_ids[count.index]
  tags                         = var.tags
}

# Each endpoint group admits the watchdog on 443, whether created here or the VPC's own.
# https://docs.aws.amazon.com/vpc/latest/privatelink/interface-endpoints.html#security-groups
resource "aws_vpc_security_group_ingress_rule" "watchdog_endpoints" {
  count                        = length(local.watchdog_endpoint_security_group_ids)
  security_group_id            = local.watchdog_endpoint_security_group_ids[count.index]
  description                  = "HTTPS from the pg_cron_job ${var.name} watchdog"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.watchdog[0].id
  tags                         = var.tags
}

resource "aws_security_group" "watchdog_endpoints" {
  count       = local.watchdog_vpc && var.watchdog_vpc_endpoints == "create" ? 1 : 0
  name_prefix = "${var.name}-watchdog-endpoints-"
  description = "Scheduler, CloudWatch and SSM endpoints for the pg_cron_job ${var.name} watchdog"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, var.endpoint_tags, { Name = "${var.name}-watchdog-endpoints" })

  lifecycle {
    create_before_destroy = true
  }
}

# One interface endpoint per service the watchdog calls, with private DNS, so that the SDK's
# default names (scheduler.<region>.amazonaws.com, ...) resolve to it. At most one per VPC and
# service: AWS refuses a second interface endpoint with private DNS for the same service in a
# VPC (its private hosted zone would conflict), hence "existing" for VPCs that have them. Private
# DNS applies to the whole VPC: every caller of these services in it then goes through these
# endpoints, whose group admits only the watchdog (output watchdog_endpoints_security_group_id).
# https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
resource "aws_vpc_endpoint" "watchdog" {
  for_each          = toset(local.watchdog_endpoint_services)
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Interface"
  # One subnet per Availability Zone (an interface endpoint's limit):
  # https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
  subnet_ids          = coalesce(var.endpoint_subnet_ids, var.subnet_ids)
  security_group_ids  = [aws_security_group.watchdog_endpoints[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, var.endpoint_tags, { Name = "${var.name}-watchdog-${each.key}" })
}

resource "aws_scheduler_schedule" "watchdog" {
  count                        = local.watchdog ? 1 : 0
  name                         = local.watchdog_name
  group_name                   = var.watchdog_schedule_group_name
  description                  = "pg_cron_job ${var.name}: watchdog"
  schedule_expression          = var.watchdog_schedule_expression
  schedule_expression_timezone = "UTC"
  state                        = "ENABLED"

  # checkov:skip=CKV_AWS_297:The schedule input is {} (no data); the fleet's KMS key is for the queue and topic.

  # In the VPC, the first check waits for the way to its APIs (an endpoint takes minutes).
  depends_on = [
    aws_vpc_endpoint.watchdog,
    aws_vpc_security_group_egress_rule.watchdog_https,
    aws_vpc_security_group_egress_rule.watchdog_endpoints,
    aws_vpc_security_group_ingress_rule.watchdog_endpoints,
  ]

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.watchdog[0].arn
    role_arn = aws_iam_role.scheduler[0].arn
    # No `watch` key: the watchdog does not watch itself (its alarms do).
    input = jsonencode({})

    retry_policy {
      # The next check comes a period later; a check that could not be delivered is a dead letter.
      maximum_retry_attempts       = 0
      maximum_event_age_in_seconds = 60
    }

    dead_letter_config {
      arn = aws_sqs_queue.failures[0].arn
    }
  }
}

################################################################################
# Alarms on what the jobs' own alarms cannot see: the watchdog, the failures queue
################################################################################

# The watchdog failed a check: a schedule of the fleet could not be checked (its result and log
# say which), or it could not read the Scheduler or CloudWatch APIs.
resource "aws_cloudwatch_metric_alarm" "watchdog_errors" {
  count               = local.watchdog ? 1 : 0
  alarm_name          = "${local.watchdog_name}-errors"
  alarm_description   = "pg_cron_job ${var.name}: the watchdog could not check every job (see its log: a schedule it cannot read, access denied)"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.watchdog[0].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}

# The watchdog is not running (its schedule disabled or deleted, invocations throttled): the jobs'
# late alarms would keep their last state. A new alarm starts in INSUFFICIENT_DATA, so the first
# deploy does not page; once the watchdog has run, 15 minutes without an invocation leave every
# datapoint of the range missing, which (treat_missing_data = "missing") is INSUFFICIENT_DATA,
# and that pages. While it runs, Invocations is >= 1 and never below the threshold.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
resource "aws_cloudwatch_metric_alarm" "watchdog_not_running" {
  count                     = local.watchdog ? 1 : 0
  alarm_name                = "${local.watchdog_name}-not-running"
  alarm_description         = "pg_cron_job ${var.name}: the watchdog has not run for 15 minutes (INSUFFICIENT_DATA): no job's lateness is being checked"
  namespace                 = "AWS/Lambda"
  metric_name               = "Invocations"
  dimensions                = { FunctionName = aws_lambda_function.watchdog[0].function_name }
  statistic                 = "Sum"
  period                    = max(300, local.watchdog_period)
  evaluation_periods        = 3
  threshold                 = 1
  comparison_operator       = "LessThanThreshold"
  treat_missing_data        = "missing"
  alarm_actions             = local.alarm_actions
  insufficient_data_actions = local.alarm_actions
  tags                      = var.tags
}

# Jobs the watchdog could not judge: it publishes per check one fleet line (Embedded Metric
# Format, namespace PgCronJob, dimension Fleet) with JudgedJobs, UnjudgedJobs, LateJobs and
# MissingJobs. A job it cannot judge (its schedule unreadable, an expression it cannot evaluate,
# its runs unreadable) no longer fails the whole check; it is counted in UnjudgedJobs and named
# with the reason in the watchdog's "jobs not judged" log line. Pages when every datapoint of 3
# periods (15 minutes at the default period) counts at least one: one unreadable check does not
# page. No data (no watchdog run) is notBreaching here: the not-running alarm pages for that.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
resource "aws_cloudwatch_metric_alarm" "watchdog_unjudged" {
  count               = local.watchdog ? 1 : 0
  alarm_name          = "${local.watchdog_name}-unjudged"
  alarm_description   = "pg_cron_job ${var.name}: jobs the watchdog could not judge for 15 minutes (their lateness is not checked); its log line \"jobs not judged\" names each and why"
  namespace           = local.metrics_namespace
  metric_name         = "UnjudgedJobs"
  dimensions          = { Fleet = var.name }
  statistic           = "Maximum"
  period              = max(300, local.watchdog_period)
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}

# Scheduler's dead letters (a run it could not deliver) and Lambda's dropped asynchronous events
# (a failed run past its retries): anything here is a run that did not happen or failed. The queue
# keeps records for failure_queue_retention_seconds (14 days by default) and nothing drains it,
# so an alarm on the messages in the queue (ApproximateNumberOfMessagesVisible) stayed in ALARM
# after the first record and never paged again. This one is edge-triggered: it pages for every
# period in which new records arrived (NumberOfMessagesSent, Sum > 0) and is OK again the next
# period without any (no data then: notBreaching), whatever is still in the queue.
# NumberOfMessagesSent counts the messages added with SendMessage; only the ones SQS itself moves
# from a source queue's redrive policy are not counted. Both producers here call SendMessage:
# Scheduler sends the dead letter with the schedule's role (sqs:SendMessage, main.tf), Lambda's
# on-failure destination with the function's role (sqs:SendMessage, modules/pg_cron_job/iam.tf).
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
resource "aws_cloudwatch_metric_alarm" "failures_queue" {
  count               = local.create ? 1 : 0
  alarm_name          = "${var.name}-failures-queue"
  alarm_description   = "pg_cron_job ${var.name}: new records in the failures queue ${aws_sqs_queue.failures[0].name} (undelivered schedules, failed asynchronous runs) in the last 5 minutes; read them (they expire after the queue's retention), then delete them"
  namespace           = "AWS/SQS"
  metric_name         = "NumberOfMessagesSent"
  dimensions          = { QueueName = aws_sqs_queue.failures[0].name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}

################################################################################
# Dashboards: the picture an operator opens first, and every declared job by name
################################################################################

# The overview `<name>` finds the jobs' metrics with SEARCH, and a SEARCH expression returns at
# most 500 time series: a 1,000-job fleet showed 500 jobs.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html
# With declared_jobs (job name = the metrics' `Job` dimension), every job's Failed and Late
# metrics are listed explicitly instead: the sorted names cut into slices of at most 500 (a
# widget's quota), one table widget per slice and metric (a row per job, its sum or maximum over
# the dashboard's time range; sortable), the two of a slice side by side. A dashboard holds at
# most 500 widgets and 2,500 metrics across them (not adjustable), so the overview takes as many
# slices as fit beside its own metrics and `<name>-jobs-2`, `-jobs-3`, ... take the rest, whole
# slices each. Its metrics count the entries of the widgets' `metrics` (a SEARCH expression is
# one). https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/add_remove_table_dashboard.html
locals {
  dashboard_quota = { widgets = 500, widget_metrics = 500, metrics = 2500 }
  dashboard       = local.create && var.create_dashboard
  dashboard_jobs  = local.dashboard ? sort(keys(var.declared_jobs)) : []
  # Per job: Failed, and Late when the watchdog writes it. The SEARCH widgets stay for the rest.
  dashboard_per_job = length(local.dashboard_jobs) > 0
  dashboard_job_metrics = concat(
    [{ metric = "Failed", stat = "Sum", summary = "SUM", title = "Failed runs" }],
    local.watchdog ? [{ metric = "Late", stat = "Maximum", summary = "MAX", title = "Late jobs (1 = a start without a run)" }] : [],
  )
  dashboard_slices = chunklist(local.dashboard_jobs, local.dashboard_quota.widget_metrics)
  # Slices per dashboard: by metrics (a slice takes up to 500 per job metric) and by widgets.
  dashboard_slice_metrics = local.dashboard_quota.widget_metrics * length(local.dashboard_job_metrics)
  dashboard_overview_slices = min(
    floor((local.dashboard_quota.metrics - local.dashboard_fixed_metrics) / local.dashboard_slice_metrics),
    floor((local.dashboard_quota.widgets - length(local.dashboard_fixed_widgets)) / length(local.dashboard_job_metrics)),
  )
  dashboard_jobs_slices = min(
    floor(local.dashboard_quota.metrics / local.dashboard_slice_metrics),
    floor(local.dashboard_quota.widgets / length(local.dashboard_job_metrics)),
  )
  # Dashboards after the overview: `<name>-jobs-2`, ... (count, known at plan: only the keys).
  dashboard_more = max(0, ceil((length(local.dashboard_slices) - local.dashboard_overview_slices) / local.dashboard_jobs_slices))
  dashboard_slice_widgets = [for i, jobs in local.dashboard_slices : {
    # 0: the overview; d >= 1: `<name>-jobs-<d + 1>`.
    dashboard = i < local.dashboard_overview_slices ? 0 : 1 + floor((i - local.dashboard_overview_slices) / local.dashboard_jobs_slices)
    widgets = [for m, spec in local.dashboard_job_metrics : {
      type   = "metric"
      x      = m * 24 / length(local.dashboard_job_metrics)
      y      = (i < local.dashboard_overview_slices ? i : (i - local.dashboard_overview_slices) % local.dashboard_jobs_slices) * 10
      width  = 24 / length(local.dashboard_job_metrics)
      height = 10
      properties = {
        title  = format("%s, jobs %d-%d (%s..%s)", spec.title, i * local.dashboard_quota.widget_metrics + 1, i * local.dashboard_quota.widget_metrics + length(jobs), substr(jobs[0], 0, 32), substr(jobs[length(jobs) - 1], 0, 32))
        region = local.region
        stat   = spec.stat
        period = 300
        view   = "table"
        table  = { summaryColumns = [spec.summary], showTimeSeriesData = false, stickySummary = true }
        metrics = [for j in jobs :
          [local.metrics_namespace, spec.metric, "Job", j, { label = j }]
        ]
      }
    }]
  }]
  # The overview's per-job rows on top, its other widgets below them.
  dashboard_top = local.dashboard_per_job ? min(length(local.dashboard_slices), local.dashboard_overview_slices) * 10 : 6
  dashboard_overview_widgets = concat(
    flatten([for s in local.dashboard_slice_widgets : s.widgets if s.dashboard == 0]),
    [for w in local.dashboard_fixed_widgets : merge(w, { y = w.y - 6 + local.dashboard_top })],
  )
  dashboard_jobs_widgets = [for d in range(1, 1 + local.dashboard_more) :
    flatten([for s in local.dashboard_slice_widgets : s.widgets if s.dashboard == d])
  ]
}

locals {
  dashboard_search = { for m, stat in {
    Succeeded   = "Sum"
    Failed      = "Sum"
    Skipped     = "Sum"
    Partial     = "Sum"
    DurationMs  = "Maximum"
    Late        = "Maximum"
    LateSeconds = "Maximum"
  } : m => "SEARCH('{${local.metrics_namespace},Job} MetricName=\"${m}\"', '${stat}', 300)" }

  dashboard_widget = { for title, spec in {
    "Failed runs by job"                       = { x = 0, y = 0, metric = "Failed" }
    "Late jobs (1 = a start without a run)"    = { x = 12, y = 0, metric = "Late" }
    "Succeeded runs by job"                    = { x = 0, y = 6, metric = "Succeeded" }
    "Run duration (ms, maximum) by job"        = { x = 12, y = 6, metric = "DurationMs" }
    "Skipped (overlap, duplicate) runs by job" = { x = 0, y = 12, metric = "Skipped" }
    "Partial runs (continued) by job"          = { x = 12, y = 12, metric = "Partial" }
    "Seconds late past the allowance, by job"  = { x = 0, y = 18, metric = "LateSeconds" }
    } : title => {
    type   = "metric"
    x      = spec.x
    y      = spec.y
    width  = 12
    height = 6
    properties = {
      title   = title
      region  = local.region
      stat    = "Sum"
      period  = 300
      view    = "timeSeries"
      metrics = [[{ expression = local.dashboard_search[spec.metric], id = "e1" }]]
    }
  } if !(local.dashboard_per_job && contains(["Failed", "Late"], spec.metric)) }

  # The overview's own widgets, placed as without declared jobs (the Failed and Late SEARCH
  # widgets on top); with declared jobs the per-job rows replace those two.
  dashboard_fixed_widgets = concat(values(local.dashboard_widget), [
    {
      type   = "metric"
      x      = 12
      y      = 18
      width  = 12
      height = 6
      properties = {
        title  = "Failures queue and watchdog"
        region = local.region
        period = 300
        view   = "timeSeries"
        metrics = concat(
          [
            ["AWS/SQS", "NumberOfMessagesSent", "QueueName", try(aws_sqs_queue.failures[0].name, ""), { stat = "Sum", label = "New failure records (the alarm)" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", try(aws_sqs_queue.failures[0].name, ""), { stat = "Maximum", label = "Failures queue (messages kept)" }],
          ],
          local.watchdog ? [
            ["AWS/Lambda", "Invocations", "FunctionName", local.watchdog_name, { stat = "Sum", label = "Watchdog checks" }],
            ["AWS/Lambda", "Errors", "FunctionName", local.watchdog_name, { stat = "Sum", label = "Watchdog errors" }],
          ] : [],
        )
      }
    },
    ], local.watchdog ? [
    {
      type   = "metric"
      x      = 0
      y      = 24
      width  = 24
      height = 6
      properties = {
        title  = "Watchdog: jobs judged, not judged, late, missing, drifting (fleet ${var.name})"
        region = local.region
        period = 300
        view   = "timeSeries"
        stat   = "Maximum"
        # The watchdog's "fleet state" line (lambda/functions/src/metrics.rs, FLEET_METRICS).
        metrics = [for m in ["JudgedJobs", "UnjudgedJobs", "LateJobs", "MissingJobs", "DriftJobs"] :
          [local.metrics_namespace, m, "Fleet", var.name, { stat = "Maximum", label = m }]
        ]
      }
    },
  ] : [])
  dashboard_fixed_metrics = sum([for w in local.dashboard_fixed_widgets : length(w.properties.metrics)])

  # What each dashboard holds, measured against the quotas (the preconditions below).
  dashboard_sizes = [for widgets in concat([local.dashboard_overview_widgets], local.dashboard_jobs_widgets) : {
    widgets            = length(widgets)
    metrics            = sum(concat([0], [for w in widgets : length(try(w.properties.metrics, []))]))
    widget_metrics_max = max(concat([0], [for w in widgets : length(try(w.properties.metrics, []))])...)
  }]
}

# The overview `<name>`.
resource "aws_cloudwatch_dashboard" "this" {
  count          = local.dashboard ? 1 : 0
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_overview_widgets })

  lifecycle {
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
    precondition {
      condition     = local.dashboard_sizes[0].widgets <= local.dashboard_quota.widgets && local.dashboard_sizes[0].metrics <= local.dashboard_quota.metrics && local.dashboard_sizes[0].widget_metrics_max <= local.dashboard_quota.widget_metrics
      error_message = "Dashboard ${var.name} would hold ${local.dashboard_sizes[0].widgets} widgets and ${local.dashboard_sizes[0].metrics} metrics (at most ${local.dashboard_sizes[0].widget_metrics_max} in a widget); CloudWatch allows 500 widgets, 2,500 metrics and 500 per widget: a bug of this module, or create_dashboard = false."
    }
  }
}

# Every declared job that does not fit on the overview: `<name>-jobs-2`, `<name>-jobs-3`, ...
# (dashboard names: up to 255 of A-Z, a-z, 0-9, "-", "_";
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html).
resource "aws_cloudwatch_dashboard" "jobs" {
  count          = local.dashboard_more
  dashboard_name = "${var.name}-jobs-${count.index + 2}"
  dashboard_body = jsonencode({ widgets = local.dashboard_jobs_widgets[count.index] })

  lifecycle {
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
    precondition {
      condition     = local.dashboard_sizes[count.index + 1].widgets <= local.dashboard_quota.widgets && local.dashboard_sizes[count.index + 1].metrics <= local.dashboard_quota.metrics && local.dashboard_sizes[count.index + 1].widget_metrics_max <= local.dashboard_quota.widget_metrics
      error_message = "Dashboard ${var.name}-jobs-${count.index + 2} would hold ${local.dashboard_sizes[count.index + 1].widgets} widgets and ${local.dashboard_sizes[count.index + 1].metrics} metrics (at most ${local.dashboard_sizes[count.index + 1].widget_metrics_max} in a widget); CloudWatch allows 500 widgets, 2,500 metrics and 500 per widget: a bug of this module, or create_dashboard = false."
    }
  }
}

# An e-mail address that has not confirmed its subscription receives no alarm, and SNS deletes
# the subscription after 48 hours in pending confirmation:
# https://aws.amazon.com/about-aws/whats-new/2023/05/amazon-sns-automatic-deletion-unconfirmed-subscriptions/
# Unknown at the plan that creates a subscription; the apply that creates it, and every plan or
# apply after that until the address confirms, warn (a check block never stops an apply).
check "alarm_subscriptions_confirmed" {
  assert {
    condition     = alltrue([for e, s in aws_sns_topic_subscription.email : !s.pending_confirmation])
    error_message = "Alarm e-mails not confirmed yet (they receive no alarm): ${join(", ", sort([for e, s in aws_sns_topic_subscription.email : e if s.pending_confirmation]))}. Each must click the link in the AWS Notification - Subscription Confirmation e-mail within 48 hours; after that SNS deletes the subscription and the next apply subscribes the address again (output pending_alarm_subscriptions)."
  }
}
