# Mistakes that AWS or the runner would refuse later (at apply, after other resources exist, or at
# every run), refused at plan with the input's name and the fix. Mocked provider: the local AWS
# API server accepts most of these (it does not check ID formats, tag prefixes or group
# existence the way AWS does).
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "purge"
  package_path               = "tests/fixtures/package.zip"
  sql                        = "DELETE FROM app.events WHERE created_at < now() - interval '90 days'"
  schedule_expression        = "cron(30 3 * * ? *)"
  secret_arn                 = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
}

# EC2 ids: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html (8 or 17 hex).
run "vpc_id_by_name" {
  command = plan
  variables { vpc_id = "main-vpc" }
  expect_failures = [var.vpc_id]
}

run "subnets_by_name_tag" {
  command = plan
  variables { subnet_ids = ["private-a", "subnet-0aaaaaaaaaaaaaaaa"] }
  expect_failures = [var.subnet_ids]
}

run "security_group_too_short" {
  command = plan
  variables { database_security_group_id = "sg-12" }
  expect_failures = [var.database_security_group_id]
}

run "endpoint_security_group_by_name" {
  command = plan
  variables { secretsmanager_endpoint_security_group_id = "secretsmanager-endpoint" }
  expect_failures = [var.secretsmanager_endpoint_security_group_id]
}

run "short_ids_are_accepted" {
  command = plan
  variables {
    vpc_id                     = "vpc-0a1b2c3d"
    subnet_ids                 = ["subnet-0a1b2c3d"]
    database_security_group_id = "sg-0a1b2c3d"
  }
  assert {
    condition     = aws_lambda_function.this[0].vpc_config[0].subnet_ids == toset(["subnet-0a1b2c3d"])
    error_message = "8-digit ids (older resources) are valid."
  }
}

run "sql_file_absolute" {
  command = plan
  variables {
    sql             = null
    sql_file        = "/sql/purge_events.sql"
    sql_source_path = "tests/fixtures/purge_events.sql"
  }
  expect_failures = [var.sql_file]
}

run "sql_file_outside_the_package" {
  command = plan
  variables {
    sql             = null
    sql_file        = "sql/../../etc/purge.sql"
    sql_source_path = "tests/fixtures/purge_events.sql"
  }
  expect_failures = [var.sql_file]
}

# make build writes <zip>.files.json (lambda/package.py): the plan reads it.
run "sql_file_not_in_the_package" {
  command = plan
  variables {
    package_path    = "tests/fixtures/package.zip"
    sql             = null
    sql_file        = "sql/purge_event.sql"
    sql_source_path = "tests/fixtures/purge_events.sql"
  }
  expect_failures = [aws_lambda_function.this]
}

# An edited file before the rebuild: the plan shows the change and warns (a preview stays possible).
run "sql_file_packaged_from_another_version" {
  command = plan
  variables {
    package_path    = "tests/fixtures/package.zip"
    sql             = null
    sql_file        = "sql/purge_events.sql"
    sql_source_path = "tests/fixtures/purge_events_edited.sql"
  }
  expect_failures = [check.sql_file_version]
}

run "sql_file_in_the_package" {
  command = plan
  variables {
    package_path    = "tests/fixtures/package.zip"
    sql             = null
    sql_file        = "sql/purge_events.sql"
    sql_source_path = "tests/fixtures/purge_events.sql"
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables.SQL_FILE == "sql/purge_events.sql"
    error_message = "A packaged sql_file of the same version must plan."
  }
}

# An S3 package cannot be read at plan: a warning says the check did not happen.
run "sql_file_of_an_s3_package_is_not_checked_and_says_so" {
  command = plan
  variables {
    package_path      = null
    package_s3_bucket = "artifacts"
    package_s3_key    = "pg-cron-job/1.2.0.zip"
    sql               = null
    sql_file          = "sql/purge_events.sql"
    sql_source_path   = "tests/fixtures/purge_events.sql"
  }
  expect_failures = [check.sql_file_in_package]
}

run "sql_file_of_an_s3_package_with_its_listing" {
  command = plan
  variables {
    package_path         = null
    package_s3_bucket    = "artifacts"
    package_s3_key       = "pg-cron-job/1.2.0.zip"
    package_listing_path = "tests/fixtures/package.zip.files.json"
    sql                  = null
    sql_file             = "sql/purge_event.sql"
    sql_source_path      = "tests/fixtures/purge_events.sql"
  }
  expect_failures = [aws_lambda_function.this]
}

run "package_listing_that_is_not_one" {
  command = plan
  variables { package_listing_path = "tests/fixtures/purge_events.sql" }
  expect_failures = [var.package_listing_path]
}

run "database_host_as_url" {
  command = plan
  variables { database_host = "postgres://app@db.example.internal:5432/app" }
  expect_failures = [var.database_host]
}

run "database_host_with_port" {
  command = plan
  variables { database_host = "db.example.internal:5432" }
  expect_failures = [var.database_host]
}

run "database_host_ipv6_is_accepted" {
  command = plan
  variables { database_host = "fd00::1234" }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables.PGHOST == "fd00::1234"
    error_message = "An IPv6 address is a host."
  }
}

run "end_date_in_the_past" {
  command = plan
  variables { schedule_end_date = "2020-01-01T00:00:00Z" }
  expect_failures = [var.schedule_end_date]
}

run "start_date_after_end_date" {
  command = plan
  variables {
    schedule_start_date = "2099-06-01T00:00:00Z"
    schedule_end_date   = "2099-01-01T00:00:00Z"
  }
  expect_failures = [var.schedule_end_date]
}

run "malformed_start_date" {
  command = plan
  variables { schedule_start_date = "2099-06-01 00:00" }
  expect_failures = [var.schedule_start_date]
}

run "undeclared_schedule_group" {
  command = plan
  variables { schedule_group_name = "nightly" }
  expect_failures = [var.schedule_group_name]
}

run "declared_existing_schedule_group" {
  command = plan
  variables {
    schedule_group_name      = "nightly"
    existing_schedule_groups = ["nightly"]
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].group_name == "nightly"
    error_message = "A group listed in existing_schedule_groups is used."
  }
}

run "flexible_window_longer_than_the_rate" {
  command = plan
  variables {
    schedule_expression          = "rate(15 minutes)"
    flexible_time_window_minutes = 20
  }
  expect_failures = [var.flexible_time_window_minutes]
}

# cron(0,40 * ...) starts at :00 and :40: 40 then 20 minutes apart.
run "flexible_window_longer_than_the_shortest_cron_gap" {
  command = plan
  variables {
    schedule_expression          = "cron(0,40 * * * ? *)"
    flexible_time_window_minutes = 30
  }
  expect_failures = [var.flexible_time_window_minutes]
}

run "flexible_window_within_the_gaps" {
  command = plan
  variables {
    schedule_expression          = "cron(0 9,21 ? * MON-FRI *)"
    flexible_time_window_minutes = 60
  }
  assert {
    condition     = aws_scheduler_schedule.this[0].flexible_time_window[0].maximum_window_in_minutes == 60
    error_message = "A window shorter than the 12 hours between starts must plan."
  }
}

# https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
run "reserved_tag_prefix" {
  command = plan
  variables { tags = { "aws:team" = "dba" } }
  expect_failures = [var.tags]
}

run "reserved_tag_prefix_on_the_function" {
  command = plan
  variables { function_tags = { "AWS:cost-center" = "42" } }
  expect_failures = [var.function_tags]
}

run "log_kms_key_as_bare_id" {
  command = plan
  variables { log_kms_key_arn = "1234abcd-12ab-34cd-56ef-1234567890ab" }
  expect_failures = [var.log_kms_key_arn]
}

run "metrics_namespace_is_the_fleets" {
  command = plan
  variables { environment = { METRICS_NAMESPACE = "Team/Jobs" } }
  expect_failures = [var.environment]
}

# IAM counts all of a role's inline policies together, 10,240 characters without whitespace:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
run "inline_policies_over_the_role_quota" {
  command = plan
  variables {
    database_security_group_id = null
    shared = {
      security_group_id  = "sg-0f1ee70f1ee70f1ee"
      scheduler_role_arn = "arn:aws:iam::123456789012:role/fleet-sched"
      failure_queue_arn  = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures"
      fleet_name         = "app-db"
    }
    # About 5,000 characters: under the quota alone, over it with the job's own policy (6,000
    # here: the mocked policy document is given that size).
    role_inline_policy = jsonencode({
      Version = "2012-10-17"
      Statement = [for i in range(25) : {
        Sid      = "ReadReports${i}"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["arn:aws:s3:::reports-${i}-of-the-finance-department-archive/*", "arn:aws:s3:::reports-${i}-of-the-finance-department-archive"]
      }]
    })
  }
  override_data {
    target = module.permissions[0].data.aws_iam_policy_document.this
    values = {
      # 30 statements, 7,718 characters (a literal: override values take no function calls)
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"ReadOwnSecret0\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-0-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-0-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret1\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-1-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-1-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret2\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-2-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-2-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret3\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-3-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-3-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret4\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-4-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-4-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret5\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-5-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-5-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret6\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-6-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-6-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret7\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-7-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-7-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret8\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-8-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-8-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret9\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-9-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-9-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret10\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-10-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-10-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret11\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-11-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-11-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret12\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-12-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-12-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret13\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-13-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-13-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret14\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-14-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-14-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret15\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-15-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-15-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret16\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-16-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-16-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret17\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-17-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-17-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret18\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-18-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-18-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret19\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-19-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-19-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret20\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-20-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-20-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret21\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-21-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-21-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret22\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-22-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-22-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret23\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-23-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-23-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret24\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-24-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-24-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret25\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-25-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-25-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret26\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-26-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-26-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret27\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-27-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-27-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret28\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-28-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-28-ro-AbCdEf\"]},{\"Sid\":\"ReadOwnSecret29\",\"Effect\":\"Allow\",\"Action\":[\"secretsmanager:GetSecretValue\"],\"Resource\":[\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-29-db-AbCdEf\",\"arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-job-29-ro-AbCdEf\"]}]}"
    }
  }
  expect_failures = [aws_iam_role_policy.lambda]
}

# Rotation functions are "<name>-rotation" within Lambda's 64 characters: two long job names that
# share their first 55 characters must still get two functions (and log groups).
run "long_names_keep_distinct_rotation_functions" {
  command = plan
  variables {
    name            = "reporting-nightly-refresh-of-the-sales-materialized-views-eu"
    secret_arn      = null
    create_secret   = true
    secret_username = "report_job"
    database_host   = "db.example.internal"
    rotation        = {}
  }
  assert {
    condition     = length(aws_lambda_function.rotation[0].function_name) <= 64 && aws_lambda_function.rotation[0].function_name != "reporting-nightly-refresh-of-the-sales-materialized-vie-rotation" && endswith(aws_lambda_function.rotation[0].function_name, "-rotation")
    error_message = "A name over 55 characters must get a hashed, unique rotation function name within 64 characters."
  }
}

run "long_names_keep_distinct_rotation_functions_other" {
  command = plan
  variables {
    name            = "reporting-nightly-refresh-of-the-sales-materialized-views-us"
    secret_arn      = null
    create_secret   = true
    secret_username = "report_job"
    database_host   = "db.example.internal"
    rotation        = {}
  }
  assert {
    condition     = aws_lambda_function.rotation[0].function_name != run.long_names_keep_distinct_rotation_functions.rotation_function_name && length(aws_lambda_function.rotation[0].function_name) <= 64
    error_message = "Two names sharing their first 55 characters must get two rotation functions."
  }
}
