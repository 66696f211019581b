# Fleet-level mistakes refused at plan (the job module's own are in its tests/plan_refusals).
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
  defaults = {
    secret_arn    = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    database_name = "app"
  }
  jobs = {
    purge = {
      sql                 = "DELETE FROM app.events WHERE created_at < now() - interval '90 days'"
      schedule_expression = "cron(30 3 * * ? *)"
    }
    vacuum = {
      sql                 = "VACUUM (ANALYZE) app.events"
      schedule_expression = "cron(0 4 ? * SUN *)"
    }
  }
}

# One job_name keys the overlap lock, the metrics and the watchdog's evidence.
run "two_jobs_of_one_job_name" {
  command = plan
  variables {
    jobs = {
      purge_dom = { job_name = "invoice-reminders", sql = "SELECT 1", schedule_expression = "cron(0 5 1,15 * ? *)" }
      purge_dow = { job_name = "invoice-reminders", sql = "SELECT 1", schedule_expression = "cron(0 5 ? * 2 *)" }
    }
  }
  expect_failures = [var.jobs]
}

run "a_job_name_from_defaults_is_shared_by_every_job" {
  command = plan
  variables {
    defaults = {
      secret_arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
      job_name   = "maintenance"
    }
  }
  expect_failures = [var.jobs]
}

run "undeclared_schedule_group" {
  command = plan
  variables {
    jobs = {
      purge = { sql = "SELECT 1", schedule_expression = "cron(30 3 * * ? *)", schedule_group_name = "nightly" }
    }
  }
  expect_failures = [var.jobs]
}

run "declared_schedule_groups" {
  command = plan
  variables {
    existing_schedule_groups = ["nightly"]
    jobs = {
      purge  = { sql = "SELECT 1", schedule_expression = "cron(30 3 * * ? *)", schedule_group_name = "nightly" }
      vacuum = { sql = "VACUUM", schedule_expression = "cron(0 4 ? * SUN *)", schedule_group_name = "default" }
      report = { sql = "SELECT 2", schedule_expression = "rate(1 hour)" }
    }
  }
  assert {
    condition     = module.job["purge"].schedule_group_name == "nightly" && module.job["vacuum"].schedule_group_name == "default" && module.job["report"].schedule_group_name == "fleet"
    error_message = "A declared existing group, the default group and the fleet's own group are all accepted."
  }
}

run "reserved_tag_prefix" {
  command = plan
  variables { tags = { "aws:team" = "dba" } }
  expect_failures = [var.tags]
}
