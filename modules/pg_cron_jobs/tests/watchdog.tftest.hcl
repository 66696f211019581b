# The fleet's watchdog through the jobs map: one watchdog for every job, watching the jobs'
# Scheduler groups, a late alarm per job whatever its schedule, none without the watchdog.
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
    secret_arn        = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
    database_host     = "db.example.internal"
    schedule_timezone = "UTC"
    grace_minutes     = 10
  }
  existing_schedule_groups = ["reports"]
  jobs = {
    weekdays = { sql = "SELECT 1", schedule_expression = "cron(0 6 ? * MON-FRI *)" }
    monthly  = { sql = "SELECT 2", schedule_expression = "cron(0 2 1 * ? *)", schedule_group_name = "reports" }
    last_day = { sql = "SELECT 3", schedule_expression = "cron(30 23 L * ? *)", schedule_group_name = "reports" }
    twice    = { sql = "SELECT 4", schedule_expression = "cron(0 8,20 * * ? *)", grace_minutes = 30 }
    once     = { sql = "SELECT 5", schedule_expression = "at(2027-01-01T03:00:00)" }
    paused   = { sql = "SELECT 6", schedule_expression = "rate(15 minutes)", schedule_enabled = false }
  }
}

run "every_job_is_watched_whatever_its_schedule" {
  command = plan

  assert {
    condition     = length(module.job) == 6 && alltrue([for k, j in module.job : j.late_alarm_name == "fleet-${k}-late"])
    error_message = "Every job has a late alarm: weekdays, monthly, last day of the month, a list of hours, one-time, paused."
  }
  assert {
    condition     = output.watchdog_function_name == "fleet-watchdog" && output.watchdog_function_arn != null
    error_message = "The fleet has one watchdog."
  }
  assert {
    condition     = module.shared.job_inputs.fleet_name == "fleet" && module.shared.job_inputs.watchdog
    error_message = "The jobs are told the fleet's name and that it has a watchdog."
  }
  assert {
    condition     = toset(output.alarm_names) == toset(["fleet-watchdog-errors", "fleet-watchdog-not-running", "fleet-watchdog-unjudged", "fleet-failures-queue"]) && output.dashboard_name == "fleet"
    error_message = "The fleet's own alarms and its dashboard."
  }
}

run "watchdog_watches_the_jobs_groups" {
  command = plan
  # GetSchedule is granted per group (schedule/<group>/*), so the watchdog is given exactly the
  # groups of the fleet's schedules:
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html
  assert {
    condition     = toset(local.schedule_groups) == toset(["fleet", "reports"]) && length(local.schedule_groups) == 2
    error_message = "The watchdog watches the distinct groups of the jobs (the fleet's own when a job sets none)."
  }
}

# Every job of the map is declared to the watchdog (job name -> "<group>/<schedule>"), so a
# schedule deleted outside Terraform is "missing" and pages; declared_jobs adds others.
run "every_job_is_declared_to_the_watchdog" {
  command = plan
  variables {
    declared_jobs = { "legacy-report" = "reports/legacy-report" }
  }
  assert {
    condition = module.shared.declared_jobs == tomap({
      "fleet-weekdays" = "fleet/fleet-weekdays", "fleet-monthly" = "reports/fleet-monthly", "fleet-last_day" = "reports/fleet-last_day",
      "fleet-twice"    = "fleet/fleet-twice", "fleet-once" = "fleet/fleet-once", "fleet-paused" = "fleet/fleet-paused",
      "legacy-report"  = "reports/legacy-report",
    }) && module.shared.declared_jobs_path == "/pg-cron-job/fleet/declared"
    error_message = "The map's six jobs and the extra one are declared under /pg-cron-job/fleet/declared: ${jsonencode(module.shared.declared_jobs)}"
  }
}

# Each fleet its own Scheduler group: the watchdog lists whole groups, and the default group holds
# every schedule of the account and region. A job's own schedule_group_name still wins.
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-group.html
run "the_fleet_has_its_own_schedule_group" {
  command = plan
  assert {
    condition     = length(aws_scheduler_schedule_group.this) == 1 && aws_scheduler_schedule_group.this[0].name == "fleet"
    error_message = "The fleet creates the Scheduler group \"fleet\"."
  }
  assert {
    condition = ({ for k, j in module.job : k => j.schedule_group_name } == {
      weekdays = "fleet", monthly = "reports", last_day = "reports", twice = "fleet", once = "fleet", paused = "fleet"
    })
    error_message = "Jobs without schedule_group_name go to the fleet's group; the others keep theirs."
  }
  assert {
    condition = toset(one([for st in jsondecode(module.shared.role_policies.watchdog).Statement : st.Resource if st.Sid == "ReadFleetSchedules"])) == toset([
      "arn:aws:scheduler:eu-south-1:123456789012:schedule/fleet/*", "arn:aws:scheduler:eu-south-1:123456789012:schedule/reports/*",
    ])
    error_message = "The watchdog watches the fleet's group and the jobs' own, not the default group."
  }
}

run "an_existing_group_instead_of_the_fleets" {
  command = plan
  variables {
    create_schedule_group = false
  }
  assert {
    condition     = length(aws_scheduler_schedule_group.this) == 0 && module.job["weekdays"].schedule_group_name == "default" && toset(local.schedule_groups) == toset(["default", "reports"])
    error_message = "create_schedule_group = false: jobs without a group go to \"default\", as before."
  }
}

run "no_watchdog_no_late_alarms" {
  command = plan
  variables {
    create_watchdog  = false
    create_dashboard = false
  }
  assert {
    condition     = output.watchdog_function_name == null && alltrue([for k, j in module.job : j.late_alarm_name == null])
    error_message = "create_watchdog = false: no watchdog, and no job gets a late alarm (nothing would feed it)."
  }
  assert {
    condition     = toset(output.alarm_names) == toset(["fleet-failures-queue"]) && output.dashboard_name == null
    error_message = "Without the watchdog the failures queue is still alarmed; create_dashboard = false creates no dashboard."
  }
}

run "rejects_a_watchdog_period_the_shared_layer_refuses" {
  command = plan
  variables {
    watchdog_schedule_expression = "rate(2 hours)"
  }
  expect_failures = [var.watchdog_schedule_expression]
}

run "rejects_the_removed_interval_in_defaults" {
  command = plan
  variables {
    defaults = {
      secret_arn                = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
      expected_interval_seconds = 86400
    }
  }
  expect_failures = [var.defaults]
}
