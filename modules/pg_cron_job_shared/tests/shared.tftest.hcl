# The AWS rules the shared layer relies on, which the local AWS API server (moto) does not
# enforce, asserted on the plan with a mocked provider. Each rule names its AWS documentation.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "fleet"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  secretsmanager_endpoint    = "create"
  function_names             = ["fleet-purge", "fleet-vacuum", "fleet-refresh"]
  alarm_emails               = ["dba@example.com"]
  package_path               = "tests/fixtures/package.zip"
  watched_schedule_groups    = ["default", "reports"]
}

run "alarm_topic_uses_a_key_cloudwatch_may_use" {
  command = plan

  # CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key alias/aws/sns
  # (its key policy cannot be changed to allow cloudwatch.amazonaws.com); a customer key must
  # allow kms:Decrypt and kms:GenerateDataKey* to the CloudWatch service principal.
  # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id == aws_kms_key.this[0].arn && !startswith(aws_sns_topic.alarms[0].kms_master_key_id, "alias/aws/")
    error_message = "The alarm topic must be encrypted with the created customer key, never alias/aws/sns."
  }
  assert {
    condition = length([for s in data.aws_iam_policy_document.kms[0].statement : s if anytrue([
      for p in s.principals : p.type == "Service" && contains(p.identifiers, "cloudwatch.amazonaws.com")
    ]) && contains(s.actions, "kms:Decrypt") && contains(s.actions, "kms:GenerateDataKey*")]) == 1
    error_message = "The key policy must let cloudwatch.amazonaws.com use the key (kms:Decrypt, kms:GenerateDataKey*)."
  }
  # Without the account-root statement the key policy alone decides, and the jobs' and the
  # scheduler's IAM grants would have no effect.
  # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
  assert {
    condition = length([for s in data.aws_iam_policy_document.kms[0].statement : s if anytrue([
      for p in s.principals : p.type == "AWS" && contains(p.identifiers, "arn:aws:iam::123456789012:root")
    ])]) == 1
    error_message = "The key policy must let the account's IAM policies grant use of the key."
  }
  assert {
    condition     = aws_kms_key.this[0].enable_key_rotation
    error_message = "The customer key must rotate."
  }
  assert {
    condition     = length(aws_sns_topic_subscription.email) == 1
    error_message = "One subscription per address for the whole fleet."
  }
}

run "failures_queue_senders_may_use_its_key" {
  command = plan

  # Producers to an SQS queue encrypted with a customer key need kms:GenerateDataKey and
  # kms:Decrypt; Scheduler sends dead letters with the schedule's execution role.
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
  # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
  assert {
    condition     = aws_sqs_queue.failures[0].kms_master_key_id == aws_kms_key.this[0].arn
    error_message = "The failures queue is encrypted with the fleet's key."
  }
  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.scheduler[0].policy).Statement : s.Action if s.Sid == "EncryptedDeadLetters"])) == toset(["kms:GenerateDataKey", "kms:Decrypt"]) && flatten([
      for s in jsondecode(aws_iam_role_policy.scheduler[0].policy).Statement : s.Resource if s.Sid == "EncryptedDeadLetters"
    ]) == [aws_kms_key.this[0].arn]
    error_message = "The scheduler role must be allowed kms:GenerateDataKey and kms:Decrypt on the queue's key."
  }
  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.scheduler[0].policy).Statement : s.Resource if s.Sid == "InvokeJobs"])) == toset([
      "arn:aws:lambda:eu-south-1:123456789012:function:fleet-purge",
      "arn:aws:lambda:eu-south-1:123456789012:function:fleet-vacuum",
      "arn:aws:lambda:eu-south-1:123456789012:function:fleet-refresh",
      "arn:aws:lambda:eu-south-1:123456789012:function:fleet-watchdog",
    ])
    error_message = "The scheduler role may invoke exactly the fleet's functions and its watchdog."
  }
}

run "one_endpoint_that_admits_every_job" {
  command = plan

  # One interface endpoint with private DNS per service and VPC: a second one is refused.
  # https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
  assert {
    condition     = length(aws_vpc_endpoint.secretsmanager) == 1 && aws_vpc_endpoint.secretsmanager[0].private_dns_enabled && aws_vpc_endpoint.secretsmanager[0].service_name == "com.amazonaws.eu-south-1.secretsmanager"
    error_message = "Exactly one Secrets Manager interface endpoint with private DNS."
  }
  # Security groups deny by default: the jobs' group needs egress to the endpoint's group on 443
  # and the endpoint's group ingress from the jobs' group.
  # https://docs.aws.amazon.com/vpc/latest/privatelink/interface-endpoints.html#security-groups
  # https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-group-rules.html
  assert {
    condition = (
      aws_vpc_security_group_egress_rule.endpoint[0].security_group_id == aws_security_group.jobs[0].id &&
      aws_vpc_security_group_egress_rule.endpoint[0].referenced_security_group_id == aws_security_group.endpoint[0].id &&
      aws_vpc_security_group_egress_rule.endpoint[0].from_port == 443 && aws_vpc_security_group_egress_rule.endpoint[0].to_port == 443 &&
      aws_vpc_security_group_ingress_rule.endpoint[0].security_group_id == aws_security_group.endpoint[0].id &&
      aws_vpc_security_group_ingress_rule.endpoint[0].referenced_security_group_id == aws_security_group.jobs[0].id &&
      aws_vpc_security_group_ingress_rule.endpoint[0].from_port == 443
    )
    error_message = "The jobs' security group must reach the endpoint on 443, and the endpoint must admit it."
  }
  assert {
    condition     = aws_vpc_endpoint.secretsmanager[0].security_group_ids == toset([aws_security_group.endpoint[0].id])
    error_message = "The endpoint must use its security group."
  }
  assert {
    condition     = length(aws_vpc_security_group_egress_rule.https) == 0
    error_message = "With an endpoint and no NAT, no HTTPS egress to the internet is opened."
  }
}

run "database_port_open_for_every_job_with_one_rule" {
  command = plan

  # One ingress rule on the database's group for the whole fleet (60 inbound rules per group by
  # default): https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups
  assert {
    condition = (
      length(aws_vpc_security_group_ingress_rule.database) == 1 &&
      aws_vpc_security_group_ingress_rule.database[0].security_group_id == "sg-0db0db0db0db0db00" &&
      aws_vpc_security_group_ingress_rule.database[0].referenced_security_group_id == aws_security_group.jobs[0].id &&
      aws_vpc_security_group_ingress_rule.database[0].from_port == 5432 &&
      aws_vpc_security_group_egress_rule.database_sg[0].referenced_security_group_id == "sg-0db0db0db0db0db00" &&
      aws_vpc_security_group_egress_rule.database_sg[0].from_port == 5432
    )
    error_message = "The jobs' group must reach the database port and the database's group admit it, with one rule."
  }
  assert {
    condition     = output.rotation_security_group_id == aws_security_group.jobs[0].id
    error_message = "The rotation function gets the group that reaches the database and the endpoint."
  }
}

run "existing_endpoint_is_opened_not_duplicated" {
  command = plan
  variables {
    secretsmanager_endpoint                   = "existing"
    secretsmanager_endpoint_security_group_id = "sg-0e0e0e0e0e0e0e0e0"
  }
  assert {
    condition     = length(aws_vpc_endpoint.secretsmanager) == 0 && aws_vpc_security_group_ingress_rule.endpoint[0].security_group_id == "sg-0e0e0e0e0e0e0e0e0" && aws_vpc_security_group_egress_rule.endpoint[0].referenced_security_group_id == "sg-0e0e0e0e0e0e0e0e0"
    error_message = "With an existing endpoint, admit the jobs there and create no second endpoint."
  }
}

run "nat_means_https_egress" {
  command = plan
  variables {
    secretsmanager_endpoint = "none"
  }
  assert {
    condition     = length(aws_vpc_endpoint.secretsmanager) == 0 && length(aws_vpc_security_group_egress_rule.endpoint) == 0 && aws_vpc_security_group_egress_rule.https["0.0.0.0/0"].from_port == 443
    error_message = "Without an endpoint the jobs reach Secrets Manager over HTTPS through NAT."
  }
}

run "given_key_is_used_and_granted" {
  command = plan
  variables {
    create_kms_key = false
    kms_key_arn    = "arn:aws:kms:eu-south-1:123456789012:key/byok"
  }
  assert {
    condition     = length(aws_kms_key.this) == 0 && aws_sns_topic.alarms[0].kms_master_key_id == "arn:aws:kms:eu-south-1:123456789012:key/byok" && aws_sqs_queue.failures[0].kms_master_key_id == "arn:aws:kms:eu-south-1:123456789012:key/byok"
    error_message = "A given key encrypts the topic and the queue."
  }
  assert {
    condition     = flatten([for s in jsondecode(aws_iam_role_policy.scheduler[0].policy).Statement : s.Resource if s.Sid == "EncryptedDeadLetters"]) == ["arn:aws:kms:eu-south-1:123456789012:key/byok"]
    error_message = "The scheduler role is granted the given key."
  }
}

run "no_key_means_sqs_managed_encryption" {
  command = plan
  variables {
    create_kms_key = false
  }
  assert {
    condition     = aws_sqs_queue.failures[0].sqs_managed_sse_enabled && aws_sns_topic.alarms[0].kms_master_key_id == null && length([for s in jsondecode(aws_iam_role_policy.scheduler[0].policy).Statement : s if s.Sid == "EncryptedDeadLetters"]) == 0
    error_message = "Without a customer key: SSE-SQS, an unencrypted topic (never alias/aws/sns), no KMS grants."
  }
}

run "long_name_fits_iam_name_prefix" {
  command = plan
  variables {
    name = "a-very-long-fleet-name-for-the-reporting-database-of-the-company"
  }
  # IAM role names are at most 64 characters; name_prefix leaves 26 for the unique suffix.
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
  # SQS queue names are at most 80 characters.
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html
  assert {
    condition     = length(aws_iam_role.scheduler[0].name_prefix) <= 38 && length(aws_sqs_queue.failures[0].name) <= 80 && length(aws_sns_topic.alarms[0].name) <= 256
    error_message = "Every name and name_prefix must fit AWS's limits."
  }
}

run "rejects_aws_managed_key" {
  command = plan
  variables {
    create_kms_key = false
    kms_key_arn    = "alias/aws/sns"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_existing_endpoint_without_group" {
  command = plan
  variables {
    secretsmanager_endpoint = "existing"
  }
  expect_failures = [var.secretsmanager_endpoint_security_group_id]
}

run "rejects_unknown_endpoint_mode" {
  command = plan
  variables {
    secretsmanager_endpoint = "yes"
  }
  expect_failures = [var.secretsmanager_endpoint]
}

run "rejects_name_over_64" {
  command = plan
  variables {
    name = "a-very-long-fleet-name-for-the-reporting-database-of-the-company-x"
  }
  expect_failures = [var.name]
}

run "create_false_creates_nothing" {
  command = plan
  variables {
    create = false
  }
  assert {
    condition     = length(aws_security_group.jobs) == 0 && length(aws_kms_key.this) == 0 && output.job_inputs == null && output.alarm_topic_arn == null
    error_message = "create = false must create nothing."
  }
}

# An S3 gateway endpoint works through the route tables of the subnets, and security groups see
# its traffic as going to S3's prefix list, so the jobs' group needs 443 to that prefix list:
# https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html
run "s3_gateway_endpoint_for_extraction_jobs" {
  command = plan

  variables {
    create_s3_gateway_endpoint = true
    s3_gateway_route_table_ids = ["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"]
  }

  override_resource {
    target          = aws_vpc_endpoint.s3
    override_during = plan
    values          = { id = "vpce-0s30s30s30s30s30", prefix_list_id = "pl-6da54004" }
  }

  assert {
    condition     = aws_vpc_endpoint.s3[0].vpc_endpoint_type == "Gateway" && aws_vpc_endpoint.s3[0].service_name == "com.amazonaws.eu-south-1.s3" && aws_vpc_endpoint.s3[0].route_table_ids == toset(["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"])
    error_message = "One S3 gateway endpoint on the given route tables."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.s3[0].prefix_list_id == "pl-6da54004" && aws_vpc_security_group_egress_rule.s3[0].from_port == 443 && aws_vpc_security_group_egress_rule.s3[0].to_port == 443 && aws_vpc_security_group_egress_rule.s3[0].security_group_id == aws_security_group.jobs[0].id
    error_message = "The jobs' group reaches S3's prefix list on 443 only."
  }
}

run "no_s3_endpoint_by_default" {
  command = plan

  assert {
    condition     = length(aws_vpc_endpoint.s3) == 0 && length(aws_vpc_security_group_egress_rule.s3) == 0
    error_message = "No S3 endpoint unless asked for."
  }
}

run "rejects_s3_endpoint_without_route_tables" {
  command = plan
  variables {
    create_s3_gateway_endpoint = true
  }
  expect_failures = [var.s3_gateway_route_table_ids]
}

# --- The watchdog: read-only, outside the VPC, watched itself -----------------------------------

run "watchdog_reads_only_the_fleet_schedules_and_metrics" {
  command = plan

  # ListSchedules and GetMetricData have no resource types; GetSchedule's resource is
  # schedule/<group>/<name>:
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.watchdog[0].policy).Statement : s.Action])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "scheduler:ListSchedules", "scheduler:GetSchedule", "cloudwatch:GetMetricData",
    ])
    error_message = "The watchdog may read schedules and metrics and write its own log, nothing else."
  }
  assert {
    condition = toset(one([for s in jsondecode(aws_iam_role_policy.watchdog[0].policy).Statement : s.Resource if contains(s.Action, "scheduler:GetSchedule")])) == toset([
      "arn:aws:scheduler:eu-south-1:123456789012:schedule/default/*", "arn:aws:scheduler:eu-south-1:123456789012:schedule/reports/*",
    ])
    error_message = "GetSchedule is limited to the watched groups."
  }
  assert {
    condition     = aws_lambda_function.watchdog[0].handler == "watchdog" && length(aws_lambda_function.watchdog[0].vpc_config) == 0 && aws_lambda_function.watchdog[0].function_name == "fleet-watchdog"
    error_message = "The watchdog is the package's watchdog program, outside the VPC."
  }
  assert {
    condition = aws_lambda_function.watchdog[0].environment[0].variables == tomap({
      WATCH_FLEET = "fleet", WATCH_SCHEDULE_GROUPS = "default,reports", WATCH_PERIOD_SECONDS = "300", METRICS_NAMESPACE = "PgCronJob", RUST_LOG = "info"
    })
    error_message = "The watchdog's environment is its contract (lambda/functions/src/contract.rs)."
  }
  assert {
    condition     = aws_scheduler_schedule.watchdog[0].schedule_expression == "rate(5 minutes)" && jsondecode(aws_scheduler_schedule.watchdog[0].target[0].input) == {}
    error_message = "The watchdog runs every 5 minutes with an empty event (it does not watch itself)."
  }
  assert {
    condition     = contains(one([for s in jsondecode(aws_iam_role_policy.scheduler[0].policy).Statement : s.Resource if s.Sid == "InvokeJobs"]), "arn:aws:lambda:eu-south-1:123456789012:function:fleet-watchdog")
    error_message = "The scheduler role may invoke the watchdog."
  }
}

run "declared_jobs_are_written_for_the_watchdog" {
  command = plan
  variables {
    declared_jobs = {
      "fleet-purge"   = "fleet/fleet-purge"
      "fleet-vacuum"  = "fleet/fleet-vacuum"
      "fleet-refresh" = "reports/fleet-refresh"
    }
  }
  assert {
    condition = (length(aws_ssm_parameter.declared) == 1 && aws_ssm_parameter.declared["000"].name == "/pg-cron-job/fleet/declared/000"
      && aws_ssm_parameter.declared["000"].type == "String" && aws_ssm_parameter.declared["000"].tier == "Standard"
    && tomap(jsondecode(aws_ssm_parameter.declared["000"].insecure_value)) == var.declared_jobs)
    error_message = "One standard String parameter /pg-cron-job/fleet/declared/000 holding the JSON object job -> group/schedule."
  }
  assert {
    condition     = aws_lambda_function.watchdog[0].environment[0].variables["WATCH_DECLARED_PATH"] == "/pg-cron-job/fleet/declared"
    error_message = "The watchdog is told the path (WATCH_DECLARED_PATH)."
  }
  # GetParametersByPath's resource is the parameter type, arn:...:parameter/<name without the
  # leading slash>: the path and what is under it.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.watchdog[0].policy).Statement : s if s.Sid == "ReadDeclaredJobs"]) == {
      Sid      = "ReadDeclaredJobs"
      Effect   = "Allow"
      Action   = ["ssm:GetParametersByPath"]
      Resource = ["arn:aws:ssm:eu-south-1:123456789012:parameter/pg-cron-job/fleet/declared", "arn:aws:ssm:eu-south-1:123456789012:parameter/pg-cron-job/fleet/declared/*"]
    }
    error_message = "The watchdog may read the declared path and nothing else of Parameter Store."
  }
}

run "no_declared_jobs_no_parameter" {
  command = plan
  assert {
    condition     = length(aws_ssm_parameter.declared) == 0 && !contains(keys(aws_lambda_function.watchdog[0].environment[0].variables), "WATCH_DECLARED_PATH") && length([for s in jsondecode(aws_iam_role_policy.watchdog[0].policy).Statement : s if s.Sid == "ReadDeclaredJobs"]) == 0
    error_message = "declared_jobs = {}: no parameter, no WATCH_DECLARED_PATH, no grant."
  }
}

run "rejects_a_declared_schedule_without_its_group" {
  command = plan
  variables {
    declared_jobs = { "fleet-purge" = "fleet-purge" }
  }
  expect_failures = [var.declared_jobs]
}

run "the_watcher_and_the_failures_queue_are_watched" {
  command = plan

  # A new alarm starts in INSUFFICIENT_DATA (no page at the first deploy); a watchdog that stopped
  # leaves every datapoint missing, which with treat_missing_data = "missing" is INSUFFICIENT_DATA:
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
  assert {
    condition = (aws_cloudwatch_metric_alarm.watchdog_not_running[0].metric_name == "Invocations" && aws_cloudwatch_metric_alarm.watchdog_not_running[0].treat_missing_data == "missing"
    && length(aws_cloudwatch_metric_alarm.watchdog_not_running[0].insufficient_data_actions) == 1 && aws_cloudwatch_metric_alarm.watchdog_not_running[0].evaluation_periods == 3)
    error_message = "A watchdog that stops running pages (INSUFFICIENT_DATA), a new one does not."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.watchdog_errors[0].metric_name == "Errors" && aws_cloudwatch_metric_alarm.watchdog_errors[0].dimensions == tomap({ FunctionName = "fleet-watchdog" })
    error_message = "A failed check pages."
  }
  # Edge-triggered on new records: NumberOfMessagesSent counts what Scheduler's dead-letter
  # delivery and Lambda's on-failure destination add with SendMessage (not SQS's own redrives,
  # which this queue has none of); the number of messages in the queue would stay above 0 (nothing
  # drains it) and never page again after the first record:
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
  # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
  # https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
  assert {
    condition = (aws_cloudwatch_metric_alarm.failures_queue[0].namespace == "AWS/SQS" && aws_cloudwatch_metric_alarm.failures_queue[0].metric_name == "NumberOfMessagesSent"
      && aws_cloudwatch_metric_alarm.failures_queue[0].statistic == "Sum" && aws_cloudwatch_metric_alarm.failures_queue[0].evaluation_periods == 1
      && aws_cloudwatch_metric_alarm.failures_queue[0].comparison_operator == "GreaterThanThreshold" && aws_cloudwatch_metric_alarm.failures_queue[0].threshold == 0
    && aws_cloudwatch_metric_alarm.failures_queue[0].treat_missing_data == "notBreaching")
    error_message = "Every period with a new record in the failures queue pages (NumberOfMessagesSent, Sum > 0; no data is no record)."
  }
  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 1 && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "SEARCH('{PgCronJob,Job} MetricName=\\\"Late\\\"'")
    error_message = "The dashboard finds every job's metrics with SEARCH."
  }
}

run "a_long_fleet_name_fits_lambda_and_scheduler_limits" {
  command = plan
  variables {
    name = "a-very-long-fleet-name-for-the-nightly-purges-of-events-012345"
  }
  # Function and schedule names: 1-64 characters.
  # https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
  assert {
    condition     = length(aws_lambda_function.watchdog[0].function_name) <= 64 && length(aws_scheduler_schedule.watchdog[0].name) <= 64
    error_message = "The watchdog's names stay within 64 characters."
  }
}

run "no_watchdog_when_turned_off" {
  command = plan
  variables {
    create_watchdog = false
    package_path    = null
  }
  assert {
    condition     = length(aws_lambda_function.watchdog) == 0 && length(aws_cloudwatch_metric_alarm.watchdog_not_running) == 0 && output.job_inputs.watchdog == false
    error_message = "create_watchdog = false creates no watchdog and tells the jobs (no late alarms)."
  }
}

run "watchdog_needs_the_package" {
  command = plan
  variables {
    package_path = null
  }
  expect_failures = [var.package_path]
}

run "rejects_a_watchdog_period_over_an_hour" {
  command = plan
  variables {
    watchdog_schedule_expression = "rate(90 minutes)"
  }
  expect_failures = [var.watchdog_schedule_expression]
}

# Organisations whose SCPs deny iam:CreateRole without a permissions boundary, or that keep
# service roles under a path and attach their own policies: every role of the shared layer.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
run "iam_guardrails_on_every_role" {
  command = plan
  variables {
    role_permissions_boundary = "arn:aws:iam::123456789012:policy/org-boundary"
    role_path                 = "/pg-cron-job/"
    role_policy_arns          = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/org-tagging"]
    role_inline_policy        = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"
  }

  assert {
    condition     = aws_iam_role.scheduler[0].permissions_boundary == "arn:aws:iam::123456789012:policy/org-boundary" && aws_iam_role.watchdog[0].permissions_boundary == "arn:aws:iam::123456789012:policy/org-boundary"
    error_message = "The scheduler and watchdog roles carry the permissions boundary."
  }
  assert {
    condition     = aws_iam_role.scheduler[0].path == "/pg-cron-job/" && aws_iam_role.watchdog[0].path == "/pg-cron-job/"
    error_message = "The scheduler and watchdog roles are created under role_path."
  }
  assert {
    condition = length(aws_iam_role_policy_attachment.extra) == 4 && toset([for a in aws_iam_role_policy_attachment.extra : "${a.role}|${a.policy_arn}"]) == toset(flatten([
      for r in [aws_iam_role.scheduler[0].name, aws_iam_role.watchdog[0].name] : [for p in ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/org-tagging"] : "${r}|${p}"]
    ]))
    error_message = "Each managed policy is attached to each role."
  }
  assert {
    condition     = toset(keys(aws_iam_role_policy.extra)) == toset(["scheduler", "watchdog"]) && alltrue([for p in aws_iam_role_policy.extra : p.name == "extra" && jsondecode(p.policy).Statement[0].Effect == "Deny"])
    error_message = "The extra inline policy is put on each role as \"extra\"."
  }
}

run "no_guardrail_resources_by_default" {
  command = plan

  assert {
    condition     = length(aws_iam_role_policy_attachment.extra) == 0 && length(aws_iam_role_policy.extra) == 0 && aws_iam_role.scheduler[0].path == "/" && aws_iam_role.scheduler[0].permissions_boundary == null
    error_message = "Without the IAM inputs the roles are as before (no attachment, no extra policy, path /, no boundary)."
  }
}

run "rejects_bad_iam_guardrails" {
  command = plan
  variables {
    role_permissions_boundary = "org-boundary"
    role_path                 = "pg-cron-job"
    role_policy_arns          = ["ReadOnlyAccess"]
    role_inline_policy        = "s3:*"
  }
  expect_failures = [var.role_permissions_boundary, var.role_path, var.role_policy_arns, var.role_inline_policy]
}

# The policies of a 300-job fleet as the jobs map (modules/pg_cron_jobs) passes it: the longest
# fleet name (40), 300 functions "<fleet>-<23-character key>" of 64 characters, one job with its
# own name, 20 watched groups (the most watched_schedule_groups takes). Every policy document stays
# under IAM's quotas: inline role policies 10,240 characters per role (all of them together),
# managed policies 6,144 (the bound asserted, so each would also fit as a managed policy),
# whitespace not counted (jsonencode writes none):
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
# (Planned here rather than through the jobs map: 300 job modules take about 3 minutes to plan,
# and the shared layer's policies are the only ones that depend on the fleet; a job's own
# policies name only its own resources, bounded in modules/pg_cron_job/tests/module.tftest.hcl.)
run "policies_of_a_300_job_fleet_fit_iam_quotas" {
  command = plan
  variables {
    name                    = "a-fleet-name-of-forty-characters-long-xx"
    function_name_prefix    = "a-fleet-name-of-forty-characters-long-xx-"
    function_names          = concat([for i in range(300) : format("a-fleet-name-of-forty-characters-long-xx-purge-events-table-%04d", i)], ["legacy-purge"])
    watched_schedule_groups = [for i in range(20) : format("schedule-group-%02d", i)]
  }

  assert {
    condition     = alltrue([for n in var.function_names : length(n) <= 64]) && length(var.function_names) == 301
    error_message = "301 functions, 64-character names."
  }
  assert {
    condition     = alltrue([for r, p in output.role_policies : length(p) < 6144]) && length(output.role_policies) == 2
    error_message = "Policy sizes of the 300-job fleet (quotas 6,144 managed / 10,240 inline): ${jsonencode({ for r, p in output.role_policies : r => length(p) })}."
  }
  assert {
    condition = toset(flatten([for s in jsondecode(output.role_policies.scheduler).Statement : s.Resource if s.Sid == "InvokeJobs"])) == toset([
      "arn:aws:lambda:eu-south-1:123456789012:function:a-fleet-name-of-forty-characters-long-xx-*",
      "arn:aws:lambda:eu-south-1:123456789012:function:legacy-purge",
    ])
    error_message = "One wildcard for the prefixed jobs and the watchdog, the job with its own name listed."
  }
  assert {
    condition     = length(one([for s in jsondecode(output.role_policies.watchdog).Statement : s.Resource if s.Sid == "ReadFleetSchedules"])) == 20
    error_message = "The watchdog reads the 20 watched groups."
  }
  assert {
    condition     = output.role_policies.scheduler == aws_iam_role_policy.scheduler[0].policy && output.role_policies.watchdog == aws_iam_role_policy.watchdog[0].policy
    error_message = "role_policies are the roles' policies."
  }
}

# The same 300 jobs declared with the longest names they can have (job name = function name, 64
# characters; group 17, schedule 64): each standard parameter's value stays within 4,096 bytes,
# together they hold exactly the declared map, and the watchdog's policy reads the path with one
# statement that does not grow with the fleet:
# https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
run "declared_jobs_of_a_300_job_fleet_fit_standard_parameters" {
  command = plan
  variables {
    name                    = "a-fleet-name-of-forty-characters-long-xx"
    function_name_prefix    = "a-fleet-name-of-forty-characters-long-xx-"
    function_names          = concat([for i in range(300) : format("a-fleet-name-of-forty-characters-long-xx-purge-events-table-%04d", i)], ["legacy-purge"])
    watched_schedule_groups = [for i in range(20) : format("schedule-group-%02d", i)]
    declared_jobs           = { for i in range(300) : format("a-fleet-name-of-forty-characters-long-xx-purge-events-table-%04d", i) => format("schedule-group-%02d/a-fleet-name-of-forty-characters-long-xx-purge-events-table-%04d", i % 20, i) }
  }

  assert {
    condition     = length(aws_ssm_parameter.declared) == 12 && alltrue([for k, p in aws_ssm_parameter.declared : length(p.insecure_value) <= 4096 && p.type == "String" && p.tier == "Standard"])
    error_message = "300 declared jobs in 12 standard String parameters of at most 4,096 characters: ${jsonencode({ for k, p in aws_ssm_parameter.declared : k => length(p.insecure_value) })}."
  }
  assert {
    condition     = tomap(merge([for k, p in aws_ssm_parameter.declared : jsondecode(p.insecure_value)]...)) == var.declared_jobs
    error_message = "The parameters hold exactly the declared jobs."
  }
  assert {
    condition     = toset([for k, p in aws_ssm_parameter.declared : p.name]) == toset([for i in range(12) : format("/pg-cron-job/a-fleet-name-of-forty-characters-long-xx/declared/%03d", i)])
    error_message = "Parameters /pg-cron-job/<fleet>/declared/000, /001, ..."
  }
  assert {
    condition     = alltrue([for r, p in output.role_policies : length(p) < 6144]) && length(one([for s in jsondecode(output.role_policies.watchdog).Statement : s.Resource if s.Sid == "ReadDeclaredJobs"])) == 2
    error_message = "Policy sizes with the declared jobs: ${jsonencode({ for r, p in output.role_policies : r => length(p) })}; one statement on the path, whatever the number of jobs."
  }
}

run "without_a_prefix_every_function_is_listed" {
  command = plan

  assert {
    condition     = length(flatten([for s in jsondecode(output.role_policies.scheduler).Statement : s.Resource if s.Sid == "InvokeJobs"])) == 4
    error_message = "Without function_name_prefix (a direct call, a job on its own) the jobs and the watchdog are listed one by one."
  }
}
