# The watchdog in the VPC (watchdog_in_vpc, watchdog_vpc_endpoints) and the dashboards that list
# every declared job, planned with a mocked provider. Each rule names its AWS documentation.
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
  function_names             = ["fleet-purge"]
  package_path               = "tests/fixtures/package.zip"
}

# The mock gives every security group the same id: the watchdog's and its endpoints' get their own.
override_resource {
  target          = aws_security_group.watchdog
  override_during = plan
  values          = { id = "sg-0dd0dd0dd0dd0dd00" }
}

override_resource {
  target          = aws_security_group.watchdog_endpoints
  override_during = plan
  values          = { id = "sg-0ee0ee0ee0ee0ee00" }
}

################################################################################
# Watchdog in the VPC
################################################################################

# A VPC function gets its network interfaces in the given subnets with the given groups, created
# with its execution role (ec2:CreateNetworkInterface and the others, on "*"):
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
# Interface endpoints with private DNS, reached on 443 by security group:
# https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
# https://docs.aws.amazon.com/vpc/latest/privatelink/interface-endpoints.html#security-groups
run "watchdog_in_the_vpc_with_created_endpoints" {
  command = plan
  variables {
    watchdog_in_vpc        = true
    watchdog_vpc_endpoints = "create"
  }

  assert {
    condition = (length(aws_lambda_function.watchdog[0].vpc_config) == 1
      && aws_lambda_function.watchdog[0].vpc_config[0].subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"])
      && aws_lambda_function.watchdog[0].vpc_config[0].security_group_ids == toset(["sg-0dd0dd0dd0dd0dd00"])
    && aws_lambda_function.watchdog[0].replace_security_groups_on_destroy == true)
    error_message = "The watchdog is attached to subnet_ids with its own group, which is detached before a destroy."
  }
  assert {
    condition     = aws_security_group.watchdog[0].vpc_id == "vpc-0123456789abcdef0" && startswith(aws_security_group.watchdog[0].name_prefix, "fleet-watchdog-")
    error_message = "The watchdog's group <name>-watchdog- in the fleet's VPC."
  }
  # Without declared jobs the watchdog calls Scheduler and CloudWatch only.
  assert {
    condition = (toset(keys(aws_vpc_endpoint.watchdog)) == toset(["scheduler", "monitoring"])
      && alltrue([for s, e in aws_vpc_endpoint.watchdog : e.service_name == "com.amazonaws.eu-south-1.${s}" && e.vpc_endpoint_type == "Interface" && e.private_dns_enabled
        && e.subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]) && e.security_group_ids == toset(["sg-0ee0ee0ee0ee0ee00"])
    && e.vpc_id == "vpc-0123456789abcdef0"]))
    error_message = "Two interface endpoints with private DNS (scheduler, monitoring) in subnet_ids, with the endpoints' group."
  }
  assert {
    condition = (length(aws_vpc_security_group_egress_rule.watchdog_endpoints) == 1
      && aws_vpc_security_group_egress_rule.watchdog_endpoints[0].security_group_id == "sg-0dd0dd0dd0dd0dd00"
      && aws_vpc_security_group_egress_rule.watchdog_endpoints[0].referenced_security_group_id == "sg-0ee0ee0ee0ee0ee00"
      && aws_vpc_security_group_egress_rule.watchdog_endpoints[0].ip_protocol == "tcp"
      && aws_vpc_security_group_egress_rule.watchdog_endpoints[0].from_port == 443 && aws_vpc_security_group_egress_rule.watchdog_endpoints[0].to_port == 443
      && length(aws_vpc_security_group_ingress_rule.watchdog_endpoints) == 1
      && aws_vpc_security_group_ingress_rule.watchdog_endpoints[0].security_group_id == "sg-0ee0ee0ee0ee0ee00"
      && aws_vpc_security_group_ingress_rule.watchdog_endpoints[0].referenced_security_group_id == "sg-0dd0dd0dd0dd0dd00"
    && aws_vpc_security_group_ingress_rule.watchdog_endpoints[0].from_port == 443 && aws_vpc_security_group_ingress_rule.watchdog_endpoints[0].to_port == 443)
    error_message = "The watchdog's group reaches the endpoints' group on 443 and the endpoints' group admits it."
  }
  assert {
    condition     = length(aws_vpc_security_group_egress_rule.watchdog_https) == 0
    error_message = "With endpoints the watchdog has no egress to the internet."
  }
  assert {
    condition = one([for s in jsondecode(output.role_policies.watchdog).Statement : s if s.Sid == "VpcNetworkInterfaces"]).Resource == ["*"] && toset(one([for s in jsondecode(output.role_policies.watchdog).Statement : s.Action if s.Sid == "VpcNetworkInterfaces"])) == toset([
      "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
    ])
    error_message = "The watchdog's role may manage the function's network interfaces (as AWSLambdaVPCAccessExecutionRole)."
  }
  assert {
    condition     = output.watchdog_security_group_id == "sg-0dd0dd0dd0dd0dd00" && output.watchdog_endpoints_security_group_id == "sg-0ee0ee0ee0ee0ee00" && length(output.watchdog_vpc_endpoint_ids) == 2
    error_message = "The outputs name the watchdog's group, the endpoints' group and the endpoints."
  }
  # The jobs' Secrets Manager endpoint is the jobs' own: untouched.
  assert {
    condition     = length(aws_vpc_endpoint.secretsmanager) == 1 && aws_vpc_security_group_ingress_rule.endpoint[0].referenced_security_group_id == aws_security_group.jobs[0].id
    error_message = "The jobs' Secrets Manager endpoint and its rules stay as they are."
  }
}

# The declared jobs are read from SSM Parameter Store (GetParametersByPath): a third endpoint.
# https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html
run "created_endpoints_include_ssm_with_declared_jobs" {
  command = plan
  variables {
    watchdog_in_vpc        = true
    watchdog_vpc_endpoints = "create"
    endpoint_subnet_ids    = ["subnet-0aaaaaaaaaaaaaaaa"]
    declared_jobs          = { "fleet-purge" = "default/fleet-purge" }
  }
  assert {
    condition     = toset(keys(aws_vpc_endpoint.watchdog)) == toset(["scheduler", "monitoring", "ssm"]) && aws_vpc_endpoint.watchdog["ssm"].service_name == "com.amazonaws.eu-south-1.ssm" && aws_vpc_endpoint.watchdog["ssm"].private_dns_enabled
    error_message = "With declared jobs: scheduler, monitoring and ssm endpoints."
  }
  assert {
    condition     = alltrue([for s, e in aws_vpc_endpoint.watchdog : e.subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaaa"])])
    error_message = "The endpoints take endpoint_subnet_ids (one per Availability Zone) when given."
  }
  assert {
    condition     = aws_lambda_function.watchdog[0].vpc_config[0].subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"])
    error_message = "The function stays in subnet_ids."
  }
}

# A VPC that has the endpoints already (a second one with private DNS would be refused): the
# given groups admit the watchdog, the watchdog's group reaches each; nothing is created.
run "existing_endpoints_admit_the_watchdog" {
  command = plan
  variables {
    watchdog_in_vpc                      = true
    watchdog_vpc_endpoints               = "existing"
    watchdog_endpoint_security_group_ids = ["sg-0aaaaaaaaaaaaaaa1", "sg-0bbbbbbbbbbbbbbb2"]
    declared_jobs                        = { "fleet-purge" = "default/fleet-purge" }
  }
  assert {
    condition     = length(aws_vpc_endpoint.watchdog) == 0 && length(aws_security_group.watchdog_endpoints) == 0 && output.watchdog_endpoints_security_group_id == null
    error_message = "With existing endpoints, no endpoint and no endpoints' group is created."
  }
  assert {
    condition = ([for r in aws_vpc_security_group_ingress_rule.watchdog_endpoints : r.security_group_id] == ["sg-0aaaaaaaaaaaaaaa1", "sg-0bbbbbbbbbbbbbbb2"]
      && alltrue([for r in aws_vpc_security_group_ingress_rule.watchdog_endpoints : r.referenced_security_group_id == "sg-0dd0dd0dd0dd0dd00" && r.from_port == 443 && r.to_port == 443 && r.ip_protocol == "tcp"])
      && [for r in aws_vpc_security_group_egress_rule.watchdog_endpoints : r.referenced_security_group_id] == ["sg-0aaaaaaaaaaaaaaa1", "sg-0bbbbbbbbbbbbbbb2"]
    && alltrue([for r in aws_vpc_security_group_egress_rule.watchdog_endpoints : r.security_group_id == "sg-0dd0dd0dd0dd0dd00" && r.from_port == 443 && r.to_port == 443]))
    error_message = "Each given endpoint group admits the watchdog on 443, and the watchdog reaches each on 443."
  }
  assert {
    condition     = length(aws_vpc_security_group_egress_rule.watchdog_https) == 0 && length(aws_lambda_function.watchdog[0].vpc_config) == 1
    error_message = "In the VPC, through the endpoints only."
  }
}

# No endpoints: a VPC function reaches AWS APIs only through a NAT.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html
run "watchdog_in_the_vpc_through_a_nat" {
  command = plan
  variables {
    watchdog_in_vpc = true
  }
  assert {
    condition     = keys(aws_vpc_security_group_egress_rule.watchdog_https) == ["0.0.0.0/0"] && aws_vpc_security_group_egress_rule.watchdog_https["0.0.0.0/0"].security_group_id == "sg-0dd0dd0dd0dd0dd00" && aws_vpc_security_group_egress_rule.watchdog_https["0.0.0.0/0"].from_port == 443 && aws_vpc_security_group_egress_rule.watchdog_https["0.0.0.0/0"].to_port == 443
    error_message = "watchdog_vpc_endpoints = \"none\": HTTPS egress to 0.0.0.0/0 (the jobs' https_egress_cidr_blocks is null)."
  }
  assert {
    condition     = length(aws_vpc_endpoint.watchdog) == 0 && length(aws_vpc_security_group_egress_rule.watchdog_endpoints) == 0 && length(aws_vpc_security_group_ingress_rule.watchdog_endpoints) == 0
    error_message = "No endpoints, no rules towards them."
  }
}

run "nat_egress_follows_https_egress_cidr_blocks" {
  command = plan
  variables {
    watchdog_in_vpc          = true
    https_egress_cidr_blocks = ["10.0.0.0/8"]
  }
  assert {
    condition     = keys(aws_vpc_security_group_egress_rule.watchdog_https) == ["10.0.0.0/8"]
    error_message = "The watchdog's HTTPS egress goes to https_egress_cidr_blocks when given."
  }
}

run "out_of_the_vpc_by_default" {
  command = plan
  assert {
    condition = (length(aws_lambda_function.watchdog[0].vpc_config) == 0 && aws_lambda_function.watchdog[0].replace_security_groups_on_destroy != true
      && length(aws_security_group.watchdog) == 0 && length(aws_security_group.watchdog_endpoints) == 0 && length(aws_vpc_endpoint.watchdog) == 0
      && length(aws_vpc_security_group_egress_rule.watchdog_https) == 0 && length(aws_vpc_security_group_egress_rule.watchdog_endpoints) == 0
    && length(aws_vpc_security_group_ingress_rule.watchdog_endpoints) == 0)
    error_message = "watchdog_in_vpc = false: no vpc_config, no group, no endpoint, no rule."
  }
  assert {
    condition     = length([for s in jsondecode(output.role_policies.watchdog).Statement : s if s.Sid == "VpcNetworkInterfaces"]) == 0 && output.watchdog_security_group_id == null && output.watchdog_vpc_endpoint_ids == {}
    error_message = "Out of the VPC the watchdog's role gets no EC2 permission."
  }
}

run "rejects_an_unknown_watchdog_vpc_endpoints_value" {
  command = plan
  variables {
    watchdog_in_vpc        = true
    watchdog_vpc_endpoints = "gateway"
  }
  expect_failures = [var.watchdog_vpc_endpoints]
}

run "rejects_endpoints_for_a_watchdog_outside_the_vpc" {
  command = plan
  variables {
    watchdog_vpc_endpoints = "create"
  }
  expect_failures = [var.watchdog_vpc_endpoints]
}

run "rejects_existing_endpoints_without_their_groups" {
  command = plan
  variables {
    watchdog_in_vpc        = true
    watchdog_vpc_endpoints = "existing"
  }
  expect_failures = [var.watchdog_endpoint_security_group_ids]
}

run "rejects_a_nat_without_egress_ranges" {
  command = plan
  variables {
    watchdog_in_vpc          = true
    https_egress_cidr_blocks = []
  }
  expect_failures = [aws_security_group.watchdog]
}

################################################################################
# Dashboards: every declared job, within CloudWatch's quotas
################################################################################

# A SEARCH expression returns at most 500 time series; a dashboard holds at most 500 widgets,
# 500 metrics per widget and 2,500 metrics across its widgets:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
run "a_1000_job_fleet_shows_every_job" {
  command = plan
  variables {
    declared_jobs = { for i in range(1000) : format("fleet-job-%04d", i) => format("fleet/fleet-job-%04d", i) }
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 1 && length(aws_cloudwatch_dashboard.jobs) == 0 && output.dashboard_names == ["fleet"]
    error_message = "1,000 jobs (2 metrics each) fit on the overview: ${jsonencode(output.dashboard_names)}."
  }
  assert {
    condition = alltrue([for metric in ["Failed", "Late"] : jsonencode([for b in concat(aws_cloudwatch_dashboard.this[*].dashboard_body, aws_cloudwatch_dashboard.jobs[*].dashboard_body) : flatten([
      for w in jsondecode(b).widgets : [for m in try(w.properties.metrics, []) : m[3] if try(m[0] == "PgCronJob" && m[1] == metric && m[2] == "Job", false)]
    ])]) == jsonencode([sort(keys(var.declared_jobs))])])
    error_message = "Every declared job, once, in the Failed and in the Late widgets (by name, sorted)."
  }
  assert {
    condition     = alltrue([for b in concat(aws_cloudwatch_dashboard.this[*].dashboard_body, aws_cloudwatch_dashboard.jobs[*].dashboard_body) : alltrue([for w in jsondecode(b).widgets : length(try(w.properties.metrics, [])) <= 500])])
    error_message = "No widget above 500 metrics."
  }
  assert {
    condition     = alltrue([for b in concat(aws_cloudwatch_dashboard.this[*].dashboard_body, aws_cloudwatch_dashboard.jobs[*].dashboard_body) : sum([for w in jsondecode(b).widgets : length(try(w.properties.metrics, []))]) <= 2500 && length(jsondecode(b).widgets) <= 500])
    error_message = "No dashboard above 2,500 metrics or 500 widgets: ${jsonencode([for b in concat(aws_cloudwatch_dashboard.this[*].dashboard_body, aws_cloudwatch_dashboard.jobs[*].dashboard_body) : sum([for w in jsondecode(b).widgets : length(try(w.properties.metrics, []))])])}."
  }
  assert {
    condition = toset([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.title if try(w.properties.view, "") == "table"]) == toset([
      "Failed runs, jobs 1-500 (fleet-job-0000..fleet-job-0499)", "Failed runs, jobs 501-1000 (fleet-job-0500..fleet-job-0999)",
      "Late jobs (1 = a start without a run), jobs 1-500 (fleet-job-0000..fleet-job-0499)", "Late jobs (1 = a start without a run), jobs 501-1000 (fleet-job-0500..fleet-job-0999)",
    ])
    error_message = "Two slices of 500, each a Failed and a Late table named by its range."
  }
  # The SEARCH widgets stay for the other metrics; Failed and Late are listed per job instead.
  assert {
    condition = (alltrue([for m in ["Succeeded", "Skipped", "Partial", "DurationMs", "LateSeconds"] : strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "MetricName=\\\"${m}\\\"")])
    && !strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "MetricName=\\\"Failed\\\"") && !strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "MetricName=\\\"Late\\\""))
    error_message = "SEARCH for the other metrics only."
  }
  assert {
    condition = alltrue([for b in concat(aws_cloudwatch_dashboard.this[*].dashboard_body, aws_cloudwatch_dashboard.jobs[*].dashboard_body) : alltrue([for i, a in jsondecode(b).widgets : alltrue([for j, c in jsondecode(b).widgets :
    i == j || a.x + a.width <= c.x || c.x + c.width <= a.x || a.y + a.height <= c.y || c.y + c.height <= a.y]) && a.x + a.width <= 24])])
    error_message = "No two widgets overlap, none wider than the 24-column grid."
  }
}

run "a_2500_job_fleet_spreads_over_three_dashboards" {
  command = plan
  variables {
    # range() makes at most 1,024 values: 25 x 100.
    declared_jobs = { for i in flatten([for a in range(25) : [for b in range(100) : a * 100 + b]]) : format("j%04d", i) => format("fleet/j%04d", i) }
  }
  assert {
    condition     = output.dashboard_names == ["fleet", "fleet-jobs-2", "fleet-jobs-3"]
    error_message = "5 slices: 2 on the overview, 2 on fleet-jobs-2, 1 on fleet-jobs-3; got ${jsonencode(output.dashboard_names)}."
  }
  assert {
    condition = jsonencode([for b in concat(aws_cloudwatch_dashboard.this[*].dashboard_body, aws_cloudwatch_dashboard.jobs[*].dashboard_body) : flatten([
      for w in jsondecode(b).widgets : [for m in try(w.properties.metrics, []) : m[3] if try(m[0] == "PgCronJob" && m[1] == "Failed" && m[2] == "Job", false)]
    ])]) == jsonencode([slice(sort(keys(var.declared_jobs)), 0, 1000), slice(sort(keys(var.declared_jobs)), 1000, 2000), slice(sort(keys(var.declared_jobs)), 2000, 2500)])
    error_message = "Every job once, in order: 1-1000 on the overview, 1001-2000 and 2001-2500 on the next two."
  }
  assert {
    condition     = alltrue([for b in concat(aws_cloudwatch_dashboard.this[*].dashboard_body, aws_cloudwatch_dashboard.jobs[*].dashboard_body) : sum([for w in jsondecode(b).widgets : length(try(w.properties.metrics, []))]) <= 2500 && alltrue([for w in jsondecode(b).widgets : length(try(w.properties.metrics, [])) <= 500])])
    error_message = "Each dashboard within 2,500 metrics, each widget within 500."
  }
  assert {
    condition     = toset([for w in jsondecode(aws_cloudwatch_dashboard.jobs[1].dashboard_body).widgets : w.properties.title]) == toset(["Failed runs, jobs 2001-2500 (j2000..j2499)", "Late jobs (1 = a start without a run), jobs 2001-2500 (j2000..j2499)"])
    error_message = "The last dashboard holds the last slice, numbered across the fleet."
  }
}

run "twenty_jobs_one_dashboard" {
  command = plan
  variables {
    declared_jobs = { for i in range(20) : format("fleet-job-%02d", i) => format("fleet/fleet-job-%02d", i) }
  }
  assert {
    condition     = output.dashboard_names == ["fleet"] && length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 9
    error_message = "20 jobs: one dashboard, the Failed and Late tables in place of the two SEARCH widgets."
  }
  assert {
    condition     = sum([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : length(w.properties.metrics)]) == 54
    error_message = "40 per-job metrics and the overview's 14 (5 SEARCH, queue 2, watchdog 2, fleet counts 5)."
  }
}

# Late comes from the watchdog: without it, only the jobs' Failed runs are listed.
run "without_the_watchdog_only_failed_runs_per_job" {
  command = plan
  variables {
    create_watchdog = false
    package_path    = null
    declared_jobs   = { for i in range(20) : format("fleet-job-%02d", i) => format("fleet/fleet-job-%02d", i) }
  }
  assert {
    condition     = [for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.title if try(w.properties.view, "") == "table"] == ["Failed runs, jobs 1-20 (fleet-job-00..fleet-job-19)"] && one([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.width if try(w.properties.view, "") == "table"]) == 24
    error_message = "One full-width Failed table, no Late table."
  }
}
