# Upgrading a single-job call from v0.1 (every resource inside this module) keeps the stateful
# objects: the queue, topic, subscriptions, endpoint and scheduler role move into the job's own
# shared layer in place. The two security groups (new name prefix and description), their rules
# and the scheduler policy (new name) are replaced; the removed throttle, undelivered and skipping
# alarms are destroyed. (Checked by hand on the local AWS API server with a v0.1 state.)
moved {
  from = aws_security_group.lambda
  to   = module.shared[0].aws_security_group.jobs[0]
}

moved {
  from = aws_vpc_security_group_egress_rule.database_sg
  to   = module.shared[0].aws_vpc_security_group_egress_rule.database_sg
}

moved {
  from = aws_vpc_security_group_egress_rule.database_cidr
  to   = module.shared[0].aws_vpc_security_group_egress_rule.database_cidr
}

moved {
  from = aws_vpc_security_group_egress_rule.https
  to   = module.shared[0].aws_vpc_security_group_egress_rule.https
}

moved {
  from = aws_vpc_security_group_ingress_rule.database
  to   = module.shared[0].aws_vpc_security_group_ingress_rule.database
}

moved {
  from = aws_security_group.endpoint
  to   = module.shared[0].aws_security_group.endpoint
}

moved {
  from = aws_vpc_security_group_ingress_rule.endpoint
  to   = module.shared[0].aws_vpc_security_group_ingress_rule.endpoint
}

moved {
  from = aws_vpc_security_group_egress_rule.endpoint
  to   = module.shared[0].aws_vpc_security_group_egress_rule.endpoint
}

moved {
  from = aws_vpc_endpoint.secretsmanager
  to   = module.shared[0].aws_vpc_endpoint.secretsmanager
}

moved {
  from = aws_sns_topic.alarms
  to   = module.shared[0].aws_sns_topic.alarms
}

moved {
  from = aws_sns_topic_subscription.email
  to   = module.shared[0].aws_sns_topic_subscription.email
}

moved {
  from = aws_sqs_queue.failures
  to   = module.shared[0].aws_sqs_queue.failures[0]
}

moved {
  from = aws_iam_role.scheduler
  to   = module.shared[0].aws_iam_role.scheduler[0]
}

moved {
  from = aws_iam_role_policy.scheduler
  to   = module.shared[0].aws_iam_role_policy.scheduler[0]
}

# 0.3: the watchdog's late alarm (monitoring.tf) replaces the "not succeeded" alarm and the log
# metric filter it read (the runner's Embedded Metric Format line publishes the runs). An upgrade
# destroys both; nothing else moves.
# https://developer.hashicorp.com/terraform/language/resources/syntax#removing-resources
removed {
  from = aws_cloudwatch_metric_alarm.not_succeeded
  lifecycle {
    destroy = true
  }
}

removed {
  from = aws_cloudwatch_log_metric_filter.succeeded
  lifecycle {
    destroy = true
  }
}
