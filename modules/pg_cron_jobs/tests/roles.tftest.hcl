# One execution role for the whole map (role_per_job = false) and managed instead of inline
# policies: what a 1,000-job fleet needs under IAM's quotas (1,000 roles per account by default,
# 10,240 characters of inline policy per role, 6,144 per managed policy) and under SCPs that deny
# iam:PutRolePolicy. The local AWS API server enforces none of these, so they are asserted here.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "fleet"
  package_path               = "tests/fixtures/package.zip"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  secretsmanager_endpoint    = "create"
  role_per_job               = false
  defaults = {
    secret_arn    = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    database_host = "db.example.internal"
    database_name = "app"
  }
  jobs = {
    purge = {
      sql                 = "DELETE FROM app.events WHERE created_at < now() - interval '90 days'"
      schedule_expression = "cron(30 3 * * ? *)"
      create_secret       = true
      secret_username     = "purge_job"
    }
    vacuum = {
      sql                 = "VACUUM (ANALYZE) app.events"
      schedule_expression = "cron(0 4 ? * SUN *)"
    }
    report = {
      name                     = "reporting-nightly"
      sql                      = "SELECT 1"
      schedule_expression      = "rate(1 hour)"
      auth_mode                = "iam"
      database_user            = "report_job"
      iam_database_resource_id = "db-ABCDEFGHIJKLMNOP"
    }
  }
}

run "one_role_for_every_job" {
  command = plan

  assert {
    condition     = length(aws_iam_role.jobs) == 1 && alltrue([for k, j in module.job : j.role_arn == aws_iam_role.jobs[0].arn && j.role_name == null]) && output.job_role_arn == aws_iam_role.jobs[0].arn
    error_message = "role_per_job = false: every job must run with the fleet's one role and create none of its own."
  }

  # The union of the jobs' own statements, each Sid once.
  assert {
    condition     = length(distinct([for s in jsondecode(aws_iam_role_policy.jobs[0].policy).Statement : s.Sid])) == length(jsondecode(aws_iam_role_policy.jobs[0].policy).Statement)
    error_message = "Each statement of the shared policy must appear once."
  }

  # Least privilege scoped to the fleet: the default secret, the created one by its name pattern
  # (its ARN exists only after the role), the IAM-auth job's database user; no other secret.
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.jobs[0].policy).Statement : s.Resource if s.Sid == "ReadOwnSecret"]) == [
      "arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-*-db-*",
      "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf",
    ]
    error_message = "The shared role must read exactly the fleet's secrets."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.jobs[0].policy).Statement : s.Resource if s.Sid == "IamDatabaseAuth"]) == ["arn:aws:rds-db:eu-south-1:123456789012:dbuser:db-ABCDEFGHIJKLMNOP/report_job"]
    error_message = "The IAM-auth job's database user must be granted, and only it."
  }

  # Logs: the "<fleet>-" jobs by one pattern, a job named outside it by its own group.
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.jobs[0].policy).Statement : s.Resource if s.Sid == "Logs"]) == [
      "arn:aws:logs:eu-south-1:123456789012:log-group:/aws/lambda/fleet-*:*",
      "arn:aws:logs:eu-south-1:123456789012:log-group:/aws/lambda/reporting-nightly:*",
    ]
    error_message = "The shared role's log grant must cover every job's log group."
  }

  assert {
    condition     = length(aws_iam_policy.jobs) == 0 && length(aws_iam_role_policy_attachment.jobs) == 0
    error_message = "Inline by default."
  }
}

# 200 jobs on one secret: the policy does not grow with the jobs (a list of 200 log groups alone
# would be about 17,000 characters, over IAM's 10,240).
run "the_policy_does_not_grow_with_the_jobs" {
  command = plan

  variables {
    jobs = { for i in range(200) : format("job%03d", i) => {
      sql                 = "SELECT ${i}"
      schedule_expression = "cron(${i % 60} ${i % 24} * * ? *)"
    } }
  }

  assert {
    condition     = length(module.job) == 200 && length(aws_iam_role.jobs) == 1 && length(aws_iam_role_policy.jobs[0].policy) < 2000
    error_message = "200 jobs sharing a secret must share one role whose policy stays small (${length(aws_iam_role_policy.jobs[0].policy)} characters)."
  }
}

run "managed_policies_for_every_role_of_the_fleet" {
  command = plan

  variables {
    role_policy_type = "managed"
  }

  assert {
    condition     = length(aws_iam_role_policy.jobs) == 0 && length(aws_iam_policy.jobs) == 1 && aws_iam_role_policy_attachment.jobs[0].role == aws_iam_role.jobs[0].name
    error_message = "role_policy_type = \"managed\": the shared role's policy must be a managed policy, attached."
  }

  assert {
    condition     = strcontains(aws_iam_policy.jobs[0].policy, "secret:fleet-*-db-*")
    error_message = "The managed policy must hold the jobs' statements."
  }
}
