# The shared layer's inputs that AWS would refuse at apply (after other resources exist), refused
# at plan. EC2 ids are the prefix and 8 or 17 hex digits
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html); the aws: tag prefix
# is AWS's (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html).
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "fleet"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  function_names             = ["fleet-purge"]
  function_name_prefix       = "fleet-"
  package_path               = "tests/fixtures/package.zip"
  watched_schedule_groups    = ["fleet"]
}

run "vpc_arn_instead_of_id" {
  command = plan
  variables { vpc_id = "arn:aws:ec2:eu-south-1:123456789012:vpc/vpc-0123456789abcdef0" }
  expect_failures = [var.vpc_id]
}

run "database_group_by_name" {
  command = plan
  variables { database_security_group_id = "rds-app" }
  expect_failures = [var.database_security_group_id]
}

run "watchdog_endpoint_groups_by_name" {
  command = plan
  variables {
    watchdog_in_vpc                      = true
    watchdog_vpc_endpoints               = "existing"
    watchdog_endpoint_security_group_ids = ["vpce-scheduler"]
  }
  expect_failures = [var.watchdog_endpoint_security_group_ids]
}

run "route_tables_by_name" {
  command = plan
  variables {
    create_s3_gateway_endpoint = true
    s3_gateway_route_table_ids = ["private-rt"]
  }
  expect_failures = [var.s3_gateway_route_table_ids]
}

run "endpoint_subnets_by_name" {
  command = plan
  variables { endpoint_subnet_ids = ["private-a"] }
  expect_failures = [var.endpoint_subnet_ids]
}

run "reserved_tag_prefix_on_the_alarm_topic" {
  command = plan
  variables { alarm_topic_tags = { "aws:owner" = "dba" } }
  expect_failures = [var.alarm_topic_tags]
}
