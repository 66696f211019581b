# The shared layer's roles (scheduler, watchdog) with their permissions as customer managed
# policies (role_policy_type = "managed", for SCPs that deny iam:PutRolePolicy). A managed policy
# holds at most 6,144 characters and a role takes at most 20 managed policies:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "fleet"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  function_names             = ["fleet-purge", "fleet-vacuum"]
  function_name_prefix       = "fleet-"
  package_path               = "tests/fixtures/package.zip"
  watched_schedule_groups    = ["fleet"]
  role_policy_type           = "managed"
}

run "managed_policies_instead_of_inline" {
  command = plan

  assert {
    condition     = length(aws_iam_role_policy.scheduler) == 0 && length(aws_iam_role_policy.watchdog) == 0 && length(aws_iam_role_policy.extra) == 0
    error_message = "role_policy_type = \"managed\" must create no inline policy."
  }

  assert {
    condition     = toset(keys(aws_iam_policy.own)) == toset(["scheduler", "watchdog"]) && aws_iam_role_policy_attachment.own["scheduler"].role == aws_iam_role.scheduler[0].name && aws_iam_role_policy_attachment.own["watchdog"].role == aws_iam_role.watchdog[0].name
    error_message = "The scheduler's and the watchdog's documents must be one managed policy each, attached to their roles."
  }

  assert {
    condition     = contains(flatten([for s in jsondecode(aws_iam_policy.own["scheduler"].policy).Statement : s.Resource if s.Sid == "InvokeJobs"]), "arn:aws:lambda:eu-south-1:123456789012:function:fleet-*") && contains(flatten([for s in jsondecode(aws_iam_policy.own["watchdog"].policy).Statement : s.Action]), "scheduler:ListSchedules")
    error_message = "The managed policies must carry the roles' own statements."
  }
}

run "managed_leaves_room_for_the_role_policy_arns" {
  command = plan

  variables {
    role_policy_arns = [for i in range(20) : "arn:aws:iam::123456789012:policy/org-${i}"]
  }

  expect_failures = [var.role_policy_type]
}

run "managed_refuses_an_extra_inline_policy" {
  command = plan

  variables {
    role_inline_policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"
  }

  expect_failures = [var.role_policy_type]
}
