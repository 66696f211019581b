# Built-in rotation (var.rotation), planned with a mocked AWS provider (no AWS API is reachable from `terraform test`;
# the end-to-end test in test/e2e applies the module against a real local AWS API server).
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "purge"
  package_path               = "tests/fixtures/package.zip"
  sql_file                   = "sql/purge_events.sql"
  sql_source_path            = "tests/fixtures/purge_events.sql"
  schedule_expression        = "cron(30 3 * * ? *)"
  schedule_timezone          = "Europe/Rome"
  secret_arn                 = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  database_name              = "app"
}


# --- Built-in rotation: the function from the same package, limited to this secret ------------
# Permissions of a rotation function:
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
# Invoke permission for a service, with the source ARN against the confused deputy:
# https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html

run "single_user_rotation_of_the_created_secret" {
  command = plan

  variables {
    secret_arn      = null
    create_secret   = true
    secret_username = "purge_job"
    database_host   = "db.example.internal"
    rotation        = {}
  }

  override_resource {
    target          = aws_lambda_function.rotation
    override_during = plan
    values          = { arn = "arn:aws:lambda:eu-south-1:123456789012:function:purge-rotation" }
  }

  assert {
    condition     = aws_lambda_function.rotation[0].function_name == "purge-rotation" && aws_lambda_function.rotation[0].handler == "rotation" && aws_lambda_function.rotation[0].runtime == "provided.al2023"
    error_message = "The rotation function is the package's bootstrap on provided.al2023, named <name>-rotation."
  }

  assert {
    condition     = aws_lambda_function.rotation[0].filename == aws_lambda_function.this[0].filename && aws_lambda_function.rotation[0].source_code_hash == aws_lambda_function.this[0].source_code_hash && aws_lambda_function.rotation[0].architectures == aws_lambda_function.this[0].architectures
    error_message = "The rotation function deploys the same package (file, hash, architecture) as the job."
  }

  assert {
    condition = aws_lambda_function.rotation[0].environment[0].variables == tomap({
      ROTATION_STRATEGY = "single-user"
      PGSSLMODE         = "verify-full"
      PGHOST            = "db.example.internal"
      PGPORT            = "5432"
      PGDATABASE        = "app"
      RUST_LOG          = "info"
    })
    error_message = "The rotation function gets the strategy and the job's connection rules, nothing else."
  }

  assert {
    condition     = aws_lambda_function.rotation[0].vpc_config[0].security_group_ids == toset([module.shared[0].security_group_id]) && aws_lambda_function.rotation[0].vpc_config[0].security_group_ids == aws_lambda_function.this[0].vpc_config[0].security_group_ids
    error_message = "The rotation function sits in the jobs' security group."
  }

  assert {
    condition     = aws_lambda_function.rotation[0].vpc_config[0].subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"])
    error_message = "The rotation function sits in the jobs' subnets."
  }

  assert {
    condition     = aws_lambda_function.rotation[0].role == aws_iam_role.rotation[0].arn && aws_iam_role_policy.rotation[0].role == aws_iam_role.rotation[0].id
    error_message = "The rotation function has its own role (not the job's)."
  }

  assert {
    condition     = aws_cloudwatch_log_group.rotation[0].name == "/aws/lambda/purge-rotation" && aws_lambda_function.rotation[0].logging_config[0].log_group == "/aws/lambda/purge-rotation"
    error_message = "The rotation function logs to its own log group."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.rotation[0].statement : s.resources if s.sid == "RotateOwnSecret"])) == toset([
      "arn:aws:secretsmanager:eu-south-1:123456789012:secret:purge-db-XyZabc"
    ])
    error_message = "The rotation function may change exactly this secret."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.rotation[0].statement : s.actions if s.sid == "RotateOwnSecret"])) == toset([
      "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
    ])
    error_message = "The rotation protocol needs exactly DescribeSecret, GetSecretValue, PutSecretValue and UpdateSecretVersionStage on the secret."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.rotation[0].statement : s.resources if length([for a in s.actions : a if startswith(a, "secretsmanager:") && a != "secretsmanager:GetRandomPassword"]) > 0])) == toset(["arn:aws:secretsmanager:eu-south-1:123456789012:secret:purge-db-XyZabc"])
    error_message = "No secretsmanager action other than GetRandomPassword may name any resource but this secret."
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.rotation[0].statement : s if contains(s.actions, "secretsmanager:GetRandomPassword")]) == 1 && toset(flatten([for s in data.aws_iam_policy_document.rotation[0].statement : s.resources if contains(s.actions, "secretsmanager:GetRandomPassword")])) == toset(["*"])
    error_message = "GetRandomPassword (no resource type) is granted on * in its own statement."
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.rotation[0].statement : s if s.sid == "ReadMasterSecret" || startswith(s.sid, "SecretKey") || startswith(s.sid, "MasterSecretKey")]) == 0
    error_message = "single-user reads no master secret and needs no KMS grant for the AWS managed key."
  }

  assert {
    condition     = aws_lambda_permission.rotation[0].principal == "secretsmanager.amazonaws.com" && aws_lambda_permission.rotation[0].action == "lambda:InvokeFunction"
    error_message = "Only Secrets Manager may invoke the rotation function."
  }

  assert {
    condition     = aws_lambda_permission.rotation[0].source_arn == "arn:aws:secretsmanager:eu-south-1:123456789012:secret:purge-db-XyZabc" && aws_lambda_permission.rotation[0].source_account == "123456789012"
    error_message = "The invoke permission's source is this secret (and this account)."
  }

  assert {
    condition     = aws_lambda_permission.rotation[0].function_name == "purge-rotation"
    error_message = "The invoke permission is on the rotation function."
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.this[0].rotation_lambda_arn == "arn:aws:lambda:eu-south-1:123456789012:function:purge-rotation"
    error_message = "The rotation uses the module's rotation function."
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.this[0].rotation_rules[0].schedule_expression == "rate(30 days)" && aws_secretsmanager_secret_rotation.this[0].rotation_rules[0].automatically_after_days == null
    error_message = "The default schedule is rate(30 days), as a schedule expression."
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.this[0].secret_id == "arn:aws:secretsmanager:eu-south-1:123456789012:secret:purge-db-XyZabc" && !aws_secretsmanager_secret_rotation.this[0].rotate_immediately
    error_message = "The created secret is rotated on schedule, not at apply (the DBA sets the password first)."
  }

  assert {
    condition     = output.rotation_function_arn == "arn:aws:lambda:eu-south-1:123456789012:function:purge-rotation"
    error_message = "The rotation function's ARN is an output."
  }
}

run "alternating_users_of_an_existing_secret_with_customer_keys" {
  command = plan

  variables {
    secret_kms_key_arn = "arn:aws:kms:eu-south-1:123456789012:key/11111111-aaaa-bbbb-cccc-222222222222"
    rotation = {
      strategy                  = "alternating-users"
      schedule                  = "cron(0 3 ? * SUN *)"
      master_secret_arn         = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:rds!db-master-AbCdEf"
      master_secret_kms_key_arn = "arn:aws:kms:eu-south-1:123456789012:key/33333333-aaaa-bbbb-cccc-444444444444"
    }
  }

  override_resource {
    target          = aws_lambda_function.rotation
    override_during = plan
    values          = { arn = "arn:aws:lambda:eu-south-1:123456789012:function:purge-rotation" }
  }

  assert {
    condition     = aws_lambda_function.rotation[0].environment[0].variables["ROTATION_STRATEGY"] == "alternating-users"
    error_message = "The strategy reaches the function."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.rotation[0].statement : s.resources if s.sid == "RotateOwnSecret"])) == toset([
      "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
    ])
    error_message = "The given secret_arn is the only secret the function may change."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.rotation[0].statement : { actions = s.actions, resources = s.resources } if s.sid == "ReadMasterSecret"] == [{
      actions   = toset(["secretsmanager:GetSecretValue"])
      resources = toset(["arn:aws:secretsmanager:eu-south-1:123456789012:secret:rds!db-master-AbCdEf"])
    }]
    error_message = "The master secret may only be read."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.rotation[0].statement : s.resources if s.sid != "ReadMasterSecret" && contains(s.actions, "secretsmanager:GetSecretValue")])) == toset(["arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"])
    error_message = "GetSecretValue names only this secret besides the master secret."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.rotation[0].statement : { actions = s.actions, resources = s.resources, via = flatten(s.condition[*].values) } if s.sid == "SecretKeyViaSecretsManager"] == [{
      actions   = toset(["kms:Decrypt", "kms:GenerateDataKey"])
      resources = toset(["arn:aws:kms:eu-south-1:123456789012:key/11111111-aaaa-bbbb-cccc-222222222222"])
      via       = ["secretsmanager.eu-south-1.amazonaws.com"]
    }]
    error_message = "The secret's customer key: Decrypt and GenerateDataKey via Secrets Manager only."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.rotation[0].statement : { actions = s.actions, resources = s.resources } if s.sid == "MasterSecretKeyViaSecretsManager"] == [{
      actions   = toset(["kms:Decrypt"])
      resources = toset(["arn:aws:kms:eu-south-1:123456789012:key/33333333-aaaa-bbbb-cccc-444444444444"])
    }]
    error_message = "The master secret's customer key: Decrypt only."
  }

  assert {
    condition     = aws_lambda_permission.rotation[0].source_arn == "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
    error_message = "The invoke permission's source is the given secret."
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.this[0].secret_id == "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf" && aws_secretsmanager_secret_rotation.this[0].rotation_rules[0].schedule_expression == "cron(0 3 ? * SUN *)"
    error_message = "The given secret is rotated on the given schedule."
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.this[0].rotation_lambda_arn == aws_lambda_function.rotation[0].arn
    error_message = "The rotation uses the module's rotation function."
  }
}

run "shared_layer_security_group_and_long_name" {
  command = plan

  variables {
    name                       = "a-very-long-job-name-that-fills-all-sixty-four-characters-of-it"
    rotation                   = {}
    database_security_group_id = null
    shared = {
      security_group_id  = "sg-0f0f0f0f0f0f0f0f0"
      scheduler_role_arn = "arn:aws:iam::123456789012:role/fleet-scheduler"
      failure_queue_arn  = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures"
    }
  }

  assert {
    condition     = aws_lambda_function.rotation[0].vpc_config[0].security_group_ids == toset(["sg-0f0f0f0f0f0f0f0f0"]) && length(module.shared) == 0
    error_message = "In a fleet the rotation function uses the shared layer's security group."
  }

  assert {
    condition     = length(aws_lambda_function.rotation[0].function_name) <= 64 && endswith(aws_lambda_function.rotation[0].function_name, "-rotation")
    error_message = "The rotation function's name fits Lambda's 64 characters."
  }
}

run "no_rotation_by_default" {
  command = plan

  assert {
    condition     = length(aws_lambda_function.rotation) == 0 && length(aws_lambda_permission.rotation) == 0 && length(aws_iam_role.rotation) == 0 && length(aws_secretsmanager_secret_rotation.this) == 0
    error_message = "Nothing of rotation is created unless asked for."
  }
}

run "alternating_users_puts_masterarn_in_the_created_secret" {
  # The runner reads the master secret from the rotated secret's masterarn field; the created
  # secret's value is write-only, so this checks the plan accepts it and the grant follows.
  command = plan

  variables {
    secret_arn      = null
    create_secret   = true
    secret_username = "purge_job"
    database_host   = "db.example.internal"
    rotation = {
      strategy          = "alternating-users"
      master_secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    }
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.rotation[0].statement : s.resources if s.sid == "ReadMasterSecret"])) == toset(["arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"])
    error_message = "The master secret may be read."
  }
}

# --- Invalid combinations fail at plan -----------------------------------------------------------

run "rejects_alternating_users_without_master_secret" {
  # The alternating users strategy needs a user that can create and alter the clone:
  # https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html#rotating-secrets-two-users
  command = plan
  variables {
    rotation = { strategy = "alternating-users" }
  }
  expect_failures = [var.rotation]
}

run "rejects_master_secret_with_single_user" {
  command = plan
  variables {
    rotation = { master_secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf" }
  }
  expect_failures = [var.rotation]
}

run "rejects_unknown_strategy" {
  command = plan
  variables {
    rotation = { strategy = "multi-user" }
  }
  expect_failures = [var.rotation]
}

run "rejects_master_secret_name" {
  # IAM matches secrets by ARN:
  # https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html
  command = plan
  variables {
    rotation = { strategy = "alternating-users", master_secret_arn = "rds-master" }
  }
  expect_failures = [var.rotation]
}

# A misspelt key would otherwise be dropped and the default schedule used.
run "rejects_misspelt_rotation_key" {
  command = plan
  variables {
    rotation = { schedul = "rate(7 days)" }
  }
  expect_failures = [var.rotation]
}

run "rejects_bad_schedule" {
  # Rotation schedules are rate(n days|hours) or cron():
  # https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
  command = plan
  variables {
    rotation = { schedule = "30" }
  }
  expect_failures = [var.rotation]
}

run "rejects_rotation_without_a_secret" {
  # IAM database authentication has no password to rotate:
  # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html
  command = plan
  variables {
    secret_arn               = null
    auth_mode                = "iam"
    database_host            = "db.example.internal"
    database_user            = "purge_job"
    iam_database_resource_id = "db-ABCDEFGHIJKL"
    rotation                 = {}
  }
  expect_failures = [var.rotation]
}

run "rejects_rotation_together_with_rotation_lambda_arn" {
  # A secret has one rotation function:
  # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
  command = plan
  variables {
    secret_arn          = null
    create_secret       = true
    secret_username     = "purge_job"
    database_host       = "db.example.internal"
    rotation            = {}
    rotation_lambda_arn = "arn:aws:lambda:eu-south-1:123456789012:function:rotate"
  }
  expect_failures = [var.rotation_lambda_arn]
}

# Secrets Manager rotates at most every four hours: a rate() under 4 hours fails at apply.
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
run "rejects_rotation_more_often_than_every_four_hours" {
  command = plan
  variables {
    secret_arn      = null
    create_secret   = true
    secret_username = "purge_job"
    database_host   = "db.example.internal"
    rotation        = { schedule = "rate(2 hours)" }
  }
  expect_failures = [var.rotation]
}

run "accepts_rotation_every_four_hours" {
  command = plan
  variables {
    secret_arn      = null
    create_secret   = true
    secret_username = "purge_job"
    database_host   = "db.example.internal"
    rotation        = { schedule = "rate(4 hours)" }
  }
  override_resource {
    target          = aws_lambda_function.rotation
    override_during = plan
    values          = { arn = "arn:aws:lambda:eu-south-1:123456789012:function:purge-rotation" }
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.this[0].rotation_rules[0].schedule_expression == "rate(4 hours)"
    error_message = "Every four hours is Secrets Manager's shortest rotation schedule."
  }
}

# IAM guardrails on the job's role and the rotation function's (a job on its own passes them to
# its shared layer's scheduler and watchdog roles too, asserted in modules/pg_cron_job_shared):
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
run "iam_guardrails_on_the_job_and_rotation_roles" {
  command = plan

  variables {
    rotation                  = {}
    role_permissions_boundary = "arn:aws:iam::123456789012:policy/org-boundary"
    role_path                 = "/pg-cron-job/"
    role_policy_arns          = ["arn:aws:iam::123456789012:policy/org-tagging"]
    role_inline_policy        = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"
  }

  assert {
    condition     = alltrue([for r in [aws_iam_role.lambda[0], aws_iam_role.rotation[0]] : r.permissions_boundary == "arn:aws:iam::123456789012:policy/org-boundary" && r.path == "/pg-cron-job/"])
    error_message = "The job and rotation roles carry the boundary and the path."
  }
  assert {
    condition     = toset([for a in aws_iam_role_policy_attachment.extra : a.role]) == toset([aws_iam_role.lambda[0].name, aws_iam_role.rotation[0].name]) && alltrue([for a in aws_iam_role_policy_attachment.extra : a.policy_arn == "arn:aws:iam::123456789012:policy/org-tagging"])
    error_message = "The managed policy is attached to the job and rotation roles."
  }
  assert {
    condition     = toset(keys(aws_iam_role_policy.extra)) == toset(["job", "rotation"])
    error_message = "The extra inline policy is put on the job and rotation roles."
  }
}
