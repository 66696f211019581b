# The job's alarms with the fleet's watchdog (modules/pg_cron_job_shared/watchdog.tf), planned
# with a mocked AWS provider: a late alarm for every schedule, none without a watchdog, the
# schedule's `watch` object, the rotation function's errors.
# The watchdog writes Late (dimension Job) once per check; 1 breaching datapoint out of 3 periods
# pages, and with treat_missing_data "missing" a range without any datapoint is INSUFFICIENT_DATA
# (the alarm is never frozen in its last state):
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name                       = "nightly"
  job_name                   = "nightly-purge"
  package_path               = "tests/fixtures/package.zip"
  sql                        = "DELETE FROM app.events WHERE created_at < now() - interval '90 days'"
  schedule_expression        = "cron(0 4 * * ? *)"
  schedule_timezone          = "UTC"
  secret_arn                 = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-db-AbCdEf"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  database_name              = "app"
}

run "late_alarm_settings" {
  command = plan

  assert {
    condition = (aws_cloudwatch_metric_alarm.late[0].alarm_name == "nightly-late" && aws_cloudwatch_metric_alarm.late[0].namespace == "PgCronJob"
      && aws_cloudwatch_metric_alarm.late[0].metric_name == "Late" && aws_cloudwatch_metric_alarm.late[0].dimensions == tomap({ Job = "nightly-purge" })
      && aws_cloudwatch_metric_alarm.late[0].statistic == "Maximum" && aws_cloudwatch_metric_alarm.late[0].period == 300
      && aws_cloudwatch_metric_alarm.late[0].evaluation_periods == 3 && aws_cloudwatch_metric_alarm.late[0].datapoints_to_alarm == 1
      && aws_cloudwatch_metric_alarm.late[0].threshold == 1 && aws_cloudwatch_metric_alarm.late[0].comparison_operator == "GreaterThanOrEqualToThreshold"
    && aws_cloudwatch_metric_alarm.late[0].treat_missing_data == "missing")
    error_message = "The late alarm reads Late of the job's JOB_NAME (the runner's and the watchdog's Job dimension), Maximum over 5 minutes: the first Late = 1 of 3 periods pages, 15 minutes without data is INSUFFICIENT_DATA (never frozen)."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late[0].alarm_actions) == 1 && try(length(aws_cloudwatch_metric_alarm.late[0].ok_actions), 0) == 0
    error_message = "The late alarm pages through the topic and sends nothing on OK (the fleet's recoveries rule says ALARM -> OK)."
  }
  # The job's `watch` object: the watchdog finds the fleet's schedules by it (the job's name is the
  # metrics' Job dimension, the timeout is part of the allowance).
  assert {
    condition = (jsondecode(aws_scheduler_schedule.this[0].target[0].input).watch == {
      fleet = "nightly", job = "nightly-purge", grace_seconds = 300, timeout_seconds = 300
    })
    error_message = "watch = {fleet, job, grace_seconds, timeout_seconds}; a job on its own is its own fleet."
  }
  assert {
    condition     = module.shared[0].job_inputs.watchdog && module.shared[0].job_inputs.fleet_name == "nightly" && module.shared[0].watchdog_function_name == "nightly-watchdog"
    error_message = "A job on its own gets its own watchdog, named after it."
  }
  assert {
    condition     = output.late_alarm_name == "nightly-late"
    error_message = "The late alarm's name is an output."
  }
}

run "monthly_job_is_watched" {
  command = plan
  variables {
    schedule_expression = "cron(0 2 1 * ? *)"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 1
    error_message = "A monthly job (CloudWatch cannot look back a month) is watched by the watchdog."
  }
}

run "twice_daily_job_is_watched" {
  command = plan
  variables {
    schedule_expression          = "cron(0 8,20 * * ? *)"
    flexible_time_window_minutes = 15
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 1
    error_message = "A list of hours is watched."
  }
}

run "rate_job_is_watched" {
  command = plan
  variables {
    schedule_expression = "rate(1 hour)"
    timeout             = 120
    grace_minutes       = 0
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 1 && jsondecode(aws_scheduler_schedule.this[0].target[0].input).watch.grace_seconds == 0 && jsondecode(aws_scheduler_schedule.this[0].target[0].input).watch.timeout_seconds == 120
    error_message = "A rate is watched; grace_minutes = 0 leaves Scheduler's minute, the window and the timeout."
  }
}

run "one_time_job_is_watched" {
  command = plan
  variables {
    schedule_expression = "at(2027-01-01T03:00:00)"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 1
    error_message = "A one-time schedule is watched (the watchdog reports it ended once it ran)."
  }
}

run "paused_job_keeps_its_late_alarm" {
  command = plan
  variables {
    schedule_enabled = false
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 1 && aws_scheduler_schedule.this[0].state == "DISABLED"
    error_message = "A paused job keeps its late alarm: the watchdog reports it paused (Late = 0), and enabling it again needs no apply of the alarm."
  }
}

run "fleet_member_takes_the_fleet_name" {
  command = plan
  variables {
    database_security_group_id = null
    shared = {
      security_group_id  = "sg-0f1ee70f1ee70f1ee"
      scheduler_role_arn = "arn:aws:iam::123456789012:role/fleet-sched"
      failure_queue_arn  = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures"
      alarm_topic_arn    = "arn:aws:sns:eu-south-1:123456789012:fleet-alarms"
      fleet_name         = "app-db"
      watchdog           = true
    }
  }
  assert {
    condition     = length(module.shared) == 0 && jsondecode(aws_scheduler_schedule.this[0].target[0].input).watch.fleet == "app-db" && length(aws_cloudwatch_metric_alarm.late) == 1
    error_message = "A fleet member names the fleet's watchdog (WATCH_FLEET) in its watch object and gets a late alarm."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.late[0].alarm_actions == toset(["arn:aws:sns:eu-south-1:123456789012:fleet-alarms"])
    error_message = "The late alarm pages through the fleet's topic."
  }
}

run "no_late_alarm_without_a_watchdog" {
  command = plan
  variables {
    database_security_group_id = null
    shared = {
      security_group_id  = "sg-0f1ee70f1ee70f1ee"
      scheduler_role_arn = "arn:aws:iam::123456789012:role/fleet-sched"
      failure_queue_arn  = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures"
      fleet_name         = "app-db"
    }
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.late) == 0 && output.late_alarm_name == null && length(aws_cloudwatch_metric_alarm.failed) == 1
    error_message = "Without the fleet's watchdog (watchdog defaults to false) nothing would feed Late: no late alarm; the failed alarm stays."
  }
}

# Rotation errors: a failed step leaves the rotation pending and Secrets Manager retries it:
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
run "rotation_function_errors_page" {
  command = plan
  variables {
    secret_arn      = null
    create_secret   = true
    secret_username = "purge_job"
    database_host   = "db.example.internal"
    rotation        = {}
  }
  assert {
    condition = (length(aws_cloudwatch_metric_alarm.rotation_errors) == 1 && aws_cloudwatch_metric_alarm.rotation_errors[0].namespace == "AWS/Lambda"
      && aws_cloudwatch_metric_alarm.rotation_errors[0].metric_name == "Errors" && aws_cloudwatch_metric_alarm.rotation_errors[0].threshold == 1
      && aws_cloudwatch_metric_alarm.rotation_errors[0].comparison_operator == "GreaterThanOrEqualToThreshold"
    && aws_cloudwatch_metric_alarm.rotation_errors[0].treat_missing_data == "notBreaching")
    error_message = "The rotation function's errors page (>= 1, no data is no error)."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.rotation_errors[0].dimensions == tomap({ FunctionName = aws_lambda_function.rotation[0].function_name }) && length(aws_cloudwatch_metric_alarm.rotation_errors[0].alarm_actions) == 1 && try(length(aws_cloudwatch_metric_alarm.rotation_errors[0].ok_actions), 0) == 0
    error_message = "The rotation alarm watches this job's rotation function and pages through the topic (no ok_actions)."
  }
}

run "no_rotation_alarm_without_rotation" {
  command = plan
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.rotation_errors) == 0
    error_message = "Only a job with the built-in rotation has a rotation alarm."
  }
}

# A job on its own declares itself to its own watchdog (SSM Parameter Store, read through
# WATCH_DECLARED_PATH): if its schedule is deleted outside Terraform, the watchdog says "missing"
# and the late alarm pages.
run "a_job_on_its_own_declares_itself" {
  command = plan
  assert {
    condition     = module.shared[0].declared_jobs_path == "/pg-cron-job/nightly/declared" && module.shared[0].declared_jobs == tomap({ "nightly-purge" = "default/nightly" })
    error_message = "The job's own shared layer declares job nightly-purge -> default/nightly."
  }
}
