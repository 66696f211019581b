# The jobs map: one shared layer, every job wired to it, defaults and per-job values merged.
# AWS rules that span the fleet (which moto does not enforce) are asserted here.
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
  defaults = {
    secret_arn        = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    database_host     = "db.example.internal"
    database_name     = "app"
    schedule_timezone = "Europe/Rome"
  }
  jobs = {
    purge = {
      sql_file            = "sql/purge_events.sql"
      sql_source_path     = "tests/fixtures/purge_events.sql"
      schedule_expression = "cron(30 3 * * ? *)"
      create_secret       = true
      secret_username     = "purge_job"
    }
    vacuum = {
      sql                 = "VACUUM (ANALYZE) app.events"
      schedule_expression = "cron(0 4 ? * SUN *)"
      schedule_timezone   = "UTC"
    }
    refresh = {
      sql                 = "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.daily_sales"
      schedule_expression = "rate(1 hour)"
      log_level           = "debug"
    }
  }
}

run "one_shared_layer_for_every_job" {
  command = plan

  # The fleet's functions are "<name>-<key>": the scheduler role invokes them (and the watchdog,
  # "<name>-watchdog") through one name-prefix ARN, so its policy does not grow with the fleet
  # (the 300-job size check is in modules/pg_cron_job_shared/tests/shared.tftest.hcl).
  assert {
    condition     = [for s in jsondecode(module.shared.role_policies.scheduler).Statement : s.Resource if s.Sid == "InvokeJobs"][0] == ["arn:aws:lambda:eu-south-1:123456789012:function:fleet-*"]
    error_message = "The scheduler role invokes the fleet's functions through one name-prefix ARN."
  }

  # At most one Secrets Manager interface endpoint with private DNS per VPC:
  # https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
  assert {
    condition     = output.secretsmanager_endpoint_id != null && alltrue([for j in module.job : j.secretsmanager_endpoint_id == null])
    error_message = "The fleet creates exactly one Secrets Manager endpoint (in the shared layer), none per job."
  }
  # Every job's function sits in the security group the shared layer opened to the endpoint and
  # the database (asserted rule by rule in modules/pg_cron_job_shared/tests).
  assert {
    condition     = alltrue([for j in module.job : j.security_group_id == module.shared.security_group_id]) && length(module.job) == 3
    error_message = "Every job must use the shared security group."
  }
  assert {
    condition     = alltrue([for j in module.job : j.failure_queue_arn == module.shared.failure_queue_arn && j.scheduler_role_arn == module.shared.scheduler_role_arn && j.alarm_topic_arn == module.shared.alarm_topic_arn])
    error_message = "Every job must use the shared queue, scheduler role and alarm topic."
  }
  assert {
    condition     = alltrue([for j in module.job : j.kms_key_arn == module.shared.kms_key_arn]) && module.shared.kms_key_arn != null
    error_message = "Every job's role is granted the fleet's queue key."
  }
}

run "names_defaults_and_overrides" {
  command = plan

  assert {
    condition     = toset([for k, j in output.jobs : j.function_name]) == toset(["fleet-purge", "fleet-vacuum", "fleet-refresh"])
    error_message = "Jobs are named <fleet name>-<key>."
  }
  assert {
    condition     = output.jobs["purge"].secret_arn == "arn:aws:secretsmanager:eu-south-1:123456789012:secret:fleet-purge-db-XyZabc" && output.jobs["vacuum"].secret_arn == "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    error_message = "A job creating its secret does not inherit the default secret_arn; the others do."
  }
  assert {
    condition     = output.jobs["purge"].sql_sha256 == filesha256("tests/fixtures/purge_events.sql") && output.jobs["vacuum"].sql_sha256 == null
    error_message = "SQL_SHA256 follows each job's SQL file."
  }
  assert {
    condition     = { for k, j in output.jobs : k => j.late_alarm_name } == { purge = "fleet-purge-late", vacuum = "fleet-vacuum-late", refresh = "fleet-refresh-late" }
    error_message = "Every job of the fleet has a late alarm, whatever its schedule."
  }
  assert {
    condition     = module.shared.watchdog_function_name == "fleet-watchdog"
    error_message = "The fleet has one watchdog."
  }
}

run "rejects_duplicate_function_names" {
  command = plan
  variables {
    jobs = {
      a = { name = "same", sql = "SELECT 1", schedule_expression = "rate(1 hour)" }
      b = { name = "same", sql = "SELECT 2", schedule_expression = "rate(1 hour)" }
    }
  }
  expect_failures = [var.jobs]
}

# Export and RDS attributes pass through the jobs map; a job naming an instance does not
# inherit the default cluster. export is per job only.
run "export_and_rds_attributes" {
  command = plan

  variables {
    # The RDS API and S3 are reached through a NAT (the network check is in must_fail/).
    https_egress_cidr_blocks = ["0.0.0.0/0"]
    defaults = {
      secret_arn                = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:rds!cluster-AbCdEf"
      secret_kms_key_arn        = "arn:aws:kms:eu-south-1:123456789012:key/11111111-aaaa-bbbb-cccc-222222222222"
      db_cluster_identifier     = "app-aurora"
      when_database_unavailable = "skip"
      database_name             = "app"
    }
    jobs = {
      orders-export = {
        sql                 = "SELECT * FROM app.orders"
        schedule_expression = "cron(0 1 * * ? *)"
        read_only           = true
        db_endpoint         = "reader"
        export = {
          bucket_arn = "arn:aws:s3:::acme-exports"
          prefix     = "orders/"
          manifest   = true
        }
      }
      legacy = {
        sql                    = "VACUUM (ANALYZE) app.events"
        schedule_expression    = "cron(0 4 ? * SUN *)"
        db_instance_identifier = "legacy-db"
      }
    }
  }

  assert {
    condition = { for k, v in output.jobs["orders-export"].environment : k => v if startswith(k, "EXPORT_") || startswith(k, "DB_") || k == "READ_ONLY" || k == "WHEN_DATABASE_UNAVAILABLE" } == {
      EXPORT_S3_URI             = "s3://acme-exports/orders/{job}/{scheduled_date}/{job}-{scheduled_time}.csv.gz"
      EXPORT_FORMAT             = "csv"
      EXPORT_HEADER             = "true"
      EXPORT_MANIFEST           = "true"
      DB_SECRET_ID              = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:rds!cluster-AbCdEf"
      DB_CLUSTER_IDENTIFIER     = "app-aurora"
      DB_ENDPOINT               = "reader"
      READ_ONLY                 = "true"
      WHEN_DATABASE_UNAVAILABLE = "skip"
    }
    error_message = "The export job gets its EXPORT_* variables and the default cluster."
  }

  assert {
    condition     = output.jobs["legacy"].environment["DB_INSTANCE_IDENTIFIER"] == "legacy-db" && !contains(keys(output.jobs["legacy"].environment), "DB_CLUSTER_IDENTIFIER") && output.jobs["legacy"].export_s3_uri == null
    error_message = "A job naming an instance does not inherit the default cluster; a job without export is not an export."
  }
}

run "rejects_export_in_defaults" {
  command = plan
  variables {
    defaults = {
      secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
      export     = { bucket_arn = "arn:aws:s3:::acme-exports", prefix = "all/" }
    }
  }
  expect_failures = [var.defaults]
}

# --- Built-in rotation: per job, on the secret that job owns ------------------------------------
# A secret has one rotation configuration (one function, one schedule):
# https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
# The function's invoke permission names that secret as source:
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html

run "rotation_of_a_job_created_secret" {
  command = plan
  variables {
    jobs = {
      purge = {
        sql                 = "SELECT 1"
        schedule_expression = "rate(1 hour)"
        create_secret       = true
        secret_username     = "purge_job"
        rotation            = { schedule = "rate(7 days)" }
      }
      vacuum = { sql = "VACUUM", schedule_expression = "rate(12 hours)" }
    }
  }

  assert {
    condition     = module.job["purge"].rotation_function_name == "fleet-purge-rotation" && module.job["vacuum"].rotation_function_name == null
    error_message = "Only the job with rotation gets a rotation function."
  }

  assert {
    condition     = module.job["purge"].rotation_function_arn == output.jobs["purge"].rotation_function_arn
    error_message = "The jobs output carries the rotation function's ARN."
  }
}

run "rejects_rotation_in_defaults" {
  command = plan
  variables {
    defaults = {
      secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
      rotation   = {}
    }
  }
  expect_failures = [var.defaults]
}

run "rejects_rotation_of_an_inherited_secret" {
  command = plan
  variables {
    jobs = {
      vacuum = { sql = "VACUUM", schedule_expression = "rate(1 day)", rotation = {} }
    }
  }
  expect_failures = [var.jobs]
}

run "rejects_two_jobs_rotating_one_secret" {
  command = plan
  variables {
    jobs = {
      a = { sql = "SELECT 1", schedule_expression = "rate(1 day)", secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-AbCdEf", rotation = {} }
      b = { sql = "SELECT 2", schedule_expression = "rate(1 day)", secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-AbCdEf", rotation = {} }
    }
  }
  expect_failures = [var.jobs]
}

# IAM guardrails for the whole fleet (the shared layer's roles and every job's), one job with its
# own extra managed policy; what each role gets is asserted in the two modules' own tests.
run "iam_guardrails_for_the_fleet" {
  command = plan
  variables {
    role_permissions_boundary = "arn:aws:iam::123456789012:policy/org-boundary"
    role_path                 = "/pg-cron-job/"
    role_inline_policy        = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"
    jobs = {
      vacuum = {
        sql                 = "VACUUM (ANALYZE) app.events"
        schedule_expression = "cron(0 4 ? * SUN *)"
        role_policy_arns    = ["arn:aws:iam::123456789012:policy/org-tagging"]
      }
    }
  }

  assert {
    condition     = length(module.job) == 1 && module.shared.scheduler_role_arn != null
    error_message = "The fleet plans with the IAM guardrails."
  }
}


# The fleet's package from S3: every job and the watchdog run from the object; a job may still
# bring its own local zip.
run "fleet_package_from_s3" {
  command = plan
  variables {
    package_path      = null
    package_s3_bucket = "acme-artifacts"
    package_s3_key    = "pg-cron-job/0.3.0/pg-cron-job.zip"
    jobs = {
      purge  = { sql = "DELETE FROM app.events WHERE created_at < now() - interval '90 days'", schedule_expression = "cron(30 1 * * ? *)" }
      vacuum = { sql = "VACUUM (ANALYZE) app.events", schedule_expression = "cron(0 4 ? * SUN *)", package_path = "tests/fixtures/package.zip" }
    }
  }
  assert {
    condition     = module.job["purge"].function_name != null && module.shared.watchdog_function_name != null
    error_message = "The fleet plans with its package in S3."
  }
}
