# The job's role at fleet scale: a role given by the caller (the jobs map's shared role) instead
# of one per job, and the module's own permissions as managed policies (SCPs that deny
# iam:PutRolePolicy). Mocked provider; IAM's quotas are asserted here because the local AWS API
# server does not enforce them.
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

run "a_given_role_replaces_the_jobs_own" {
  command = plan

  variables {
    create_role = false
    role_arn    = "arn:aws:iam::123456789012:role/fleet-jobs-0001"
  }

  assert {
    condition     = length(aws_iam_role.lambda) == 0 && length(aws_iam_role_policy.lambda) == 0 && length(aws_iam_policy.own) == 0 && length(aws_iam_role_policy_attachment.extra) == 0
    error_message = "With create_role = false the module must create no role and attach nothing to the given one."
  }

  assert {
    condition     = aws_lambda_function.this[0].role == "arn:aws:iam::123456789012:role/fleet-jobs-0001" && output.role_arn == "arn:aws:iam::123456789012:role/fleet-jobs-0001"
    error_message = "The function must run with role_arn."
  }

  # What the owner of the shared role must grant: the same statements a role of its own gets.
  assert {
    condition     = toset(flatten([for s in output.role_policy_statements : s.resources if s.sid == "ReadOwnSecret"])) == toset(["arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"]) && contains([for s in output.role_policy_statements : s.sid], "VpcNetworkInterfaces")
    error_message = "role_policy_statements must list the job's secret and the VPC permissions."
  }
}

run "create_role_false_needs_a_role" {
  command = plan

  variables {
    create_role = false
  }

  expect_failures = [var.role_arn]
}

run "managed_policies_instead_of_inline" {
  command = plan

  variables {
    role_policy_type = "managed"
    rotation         = { strategy = "single-user" }
    database_host    = "db.example.internal"
  }

  # No iam:PutRolePolicy anywhere: the job's, the rotation function's, the scheduler's and the
  # watchdog's permissions are managed policies attached to their roles.
  assert {
    condition     = length(aws_iam_role_policy.lambda) == 0 && length(aws_iam_role_policy.rotation) == 0 && length(aws_iam_role_policy.extra) == 0
    error_message = "role_policy_type = \"managed\" must create no inline policy."
  }

  assert {
    condition     = toset(keys(aws_iam_policy.own)) == toset(["job", "rotation"]) && strcontains(aws_iam_policy.own["rotation"].description, "rotation")
    error_message = "The job's and the rotation function's own documents must become one managed policy each."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.own["job"].role == aws_iam_role.lambda[0].name && aws_iam_role_policy_attachment.own["rotation"].role == aws_iam_role.rotation[0].name
    error_message = "Each managed policy must be attached to its own role."
  }

  # IAM: a managed policy document holds at most 6,144 characters (whitespace excluded):
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
  assert {
    condition     = alltrue([for p in aws_iam_policy.own : length(p.name_prefix) <= 102 && p.path == "/"])
    error_message = "Managed policy name prefixes must leave room for the 26-character suffix (128 in all)."
  }
}

run "managed_refuses_an_extra_inline_policy" {
  command = plan

  variables {
    role_policy_type   = "managed"
    role_inline_policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"
  }

  expect_failures = [var.role_policy_type]
}
