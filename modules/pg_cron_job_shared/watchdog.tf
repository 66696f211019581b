# The fleet's watchdog: the same package with handler "watchdog", outside the VPC (it calls only
# the Scheduler and CloudWatch APIs), on its own rate schedule. Every check it reads the fleet's
# schedules (those whose target input carries this fleet's `watch` object) and the jobs' Runs
# metric, and writes per job `Late` / `LateSeconds` (Embedded Metric Format in its log) that each
# job's late alarm reads. See the README's "Alarms".

locals {
  watchdog = local.create && var.create_watchdog
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
      ], local.declared ? [
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
  count  = local.watchdog ? 1 : 0
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

  environment {
    variables = local.watchdog_environment
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
  ]

  # checkov:skip=CKV_AWS_117:Outside the VPC on purpose: it calls only the Scheduler and CloudWatch APIs and reaches no database.
  # checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments; the watchdog's states are in its log and its result.
  # checkov:skip=CKV_AWS_272:Code signing is the consumer's choice; the package is built from this repository by make build.
  # checkov:skip=CKV_AWS_116:Invoked by its schedule; a failed delivery goes to the failures queue (the schedule's dead-letter queue), which is alarmed.
  # checkov:skip=CKV_AWS_173:The environment holds no secrets (fleet name, groups, period).
  # checkov:skip=CKV_AWS_363:provided.al2023 is the current OS-only runtime; checkov's runtime list lags behind it.
  # checkov:skip=CKV_AWS_115:Reserved concurrency would come out of the account's unreserved pool (new accounts may not go below 10); two overlapping checks publish the same states.
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
# Dashboard: the picture an operator opens first (no per-job list: SEARCH finds every job)
################################################################################

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
  } }
}

resource "aws_cloudwatch_dashboard" "this" {
  count          = local.create && var.create_dashboard ? 1 : 0
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(values(local.dashboard_widget), [
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
              ["AWS/SQS", "NumberOfMessagesSent", "QueueName", aws_sqs_queue.failures[0].name, { stat = "Sum", label = "New failure records (the alarm)" }],
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.failures[0].name, { stat = "Maximum", label = "Failures queue (messages kept)" }],
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
          title  = "Watchdog: jobs judged, not judged, late, missing (fleet ${var.name})"
          region = local.region
          period = 300
          view   = "timeSeries"
          stat   = "Maximum"
          metrics = [for m in ["JudgedJobs", "UnjudgedJobs", "LateJobs", "MissingJobs"] :
            [local.metrics_namespace, m, "Fleet", var.name, { stat = "Maximum", label = m }]
          ]
        }
      },
    ] : [])
  })
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
