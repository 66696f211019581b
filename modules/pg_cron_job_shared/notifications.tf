# Quiet notifications. No alarm of the fleet has ok_actions: a new alarm goes INSUFFICIENT_DATA
# -> OK right after it is created, so a first deploy of 300 jobs sent 600 OK messages (one per
# alarm). The recoveries that mean something, ALARM -> OK, reach the same topic through ONE
# EventBridge rule per fleet on CloudWatch's "CloudWatch Alarm State Change" events, which
# CloudWatch sends for every alarm on the default event bus:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
# The failures-queue alarm's ALARM -> OK is not a recovery (the period after a new record), so
# the rule leaves it out.

locals {
  recoveries = local.create && (var.create_alarm_topic || var.alarm_topic_arn != null)
  # EventBridge rule names: 1-64 of [.-_A-Za-z0-9]:
  # https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
  recoveries_rule_name = length(var.name) <= 54 ? "${var.name}-recovered" : "${substr(var.name, 0, 45)}-${substr(sha1(var.name), 0, 8)}-recovered"
  # The fleet's alarm names: "<name>-..." (the jobs map's functions are "<name>-<key>", their
  # alarms "<function>-failed", "<function>-late", "<function>-rotation-failed"; the shared
  # layer's "<name>-failures-queue") and the watchdog's "<watchdog name>-..." (the same prefix
  # unless a long fleet name was shortened). A prefix also covers another fleet whose name
  # starts with "<name>-": give each fleet a name of its own (as for the scheduler role's
  # "<name>-*" invoke grant).
  recoveries_prefixes  = startswith(local.watchdog_name, "${var.name}-") ? ["${var.name}-"] : ["${var.name}-", "${local.watchdog_name}-"]
  failures_queue_alarm = "${var.name}-failures-queue"
  alarm_arn_prefix     = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:"

  # A CloudWatch alarm state change event: detail.alarmName, detail.previousState.value,
  # detail.state.value / .reason / .timestamp, and the alarm's ARN in resources:
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
  # The alarm name matches one of the prefixes (a list is an OR); the failures-queue alarm is left
  # out by its ARN in `resources` (EventBridge ANDs the fields, and a field cannot hold both a
  # prefix and an anything-but):
  # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  recoveries_pattern = {
    source        = ["aws.cloudwatch"]
    "detail-type" = ["CloudWatch Alarm State Change"]
    resources     = [{ "anything-but" = ["${local.alarm_arn_prefix}${local.failures_queue_alarm}"] }]
    detail = {
      alarmName     = [for p in local.recoveries_prefixes : { prefix = p }]
      previousState = { value = ["ALARM"] }
      state         = { value = ["OK"] }
    }
  }
}

resource "aws_cloudwatch_event_rule" "recoveries" {
  count         = local.recoveries ? 1 : 0
  name          = local.recoveries_rule_name
  description   = "pg_cron_job ${var.name}: an alarm of the fleet went from ALARM back to OK (one message to the alarm topic)"
  event_pattern = jsonencode(local.recoveries_pattern)
  state         = "ENABLED"
  tags          = var.tags
}

# One readable line per recovery. An input template that is a quoted string is sent as plain
# text (SNS e-mail shows it as is); the placeholders come from input_paths:
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
resource "aws_cloudwatch_event_target" "recoveries" {
  count     = local.recoveries ? 1 : 0
  rule      = aws_cloudwatch_event_rule.recoveries[0].name
  target_id = "alarm-topic"
  arn       = local.alarm_topic_arn

  input_transformer {
    input_paths = {
      alarm  = "$.detail.alarmName"
      time   = "$.time"
      reason = "$.detail.state.reason"
    }
    input_template = "\"<alarm> back to OK at <time>: <reason>\""
  }
}

# The created topic's policy. EventBridge publishes to an SNS topic only if the topic's
# resource-based policy allows events.amazonaws.com; conditioned on this rule's ARN:
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
# A topic policy replaces SNS's default one, so it also lets CloudWatch alarms publish (what the
# default policy allowed them) and the account manage the topic:
# https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
# https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
# (An alarm_topic_arn of your own needs the EventBridge statement in its policy: see the README.)
data "aws_iam_policy_document" "alarm_topic" {
  count = local.create && var.create_alarm_topic ? 1 : 0

  statement {
    sid = "OwnerManages"
    actions = [
      "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
      "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish",
    ]
    resources = [aws_sns_topic.alarms[0].arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.alarm_arn_prefix}*"]
    }
  }

  statement {
    sid       = "EventBridgeRecoveriesPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.recoveries[0].arn]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  count  = local.create && var.create_alarm_topic ? 1 : 0
  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.alarm_topic[0].json
}
