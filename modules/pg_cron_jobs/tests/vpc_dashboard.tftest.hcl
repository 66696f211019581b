# The watchdog in the VPC and the per-job dashboards through the jobs map: the fleet passes
# watchdog_in_vpc, watchdog_vpc_endpoints and watchdog_endpoint_security_group_ids to the shared
# layer, and its jobs (declared to the watchdog) are listed by name on the dashboard. The rules
# themselves are tested in modules/pg_cron_job_shared/tests/vpc_dashboard.tftest.hcl.
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
  }
  existing_schedule_groups = ["reports"]
  jobs = {
    purge  = { sql = "SELECT 1", schedule_expression = "cron(0 6 ? * MON-FRI *)" }
    vacuum = { sql = "SELECT 2", schedule_expression = "cron(0 2 1 * ? *)", schedule_group_name = "reports" }
  }
}

run "watchdog_in_the_vpc_with_created_endpoints" {
  command = plan
  variables {
    watchdog_in_vpc        = true
    watchdog_vpc_endpoints = "create"
  }
  assert {
    condition     = toset(keys(module.shared.watchdog_vpc_endpoint_ids)) == toset(["scheduler", "monitoring", "ssm"]) && output.watchdog_security_group_id != null && module.shared.watchdog_endpoints_security_group_id != null
    error_message = "The map's jobs are declared, so the watchdog gets the scheduler, monitoring and ssm endpoints and its own group: ${jsonencode(module.shared.watchdog_vpc_endpoint_ids)}."
  }
}

run "watchdog_in_the_vpc_with_existing_endpoints" {
  command = plan
  variables {
    watchdog_in_vpc                      = true
    watchdog_vpc_endpoints               = "existing"
    watchdog_endpoint_security_group_ids = ["sg-0aaaaaaaaaaaaaaa1"]
  }
  assert {
    condition     = module.shared.watchdog_vpc_endpoint_ids == {} && module.shared.watchdog_endpoints_security_group_id == null && output.watchdog_security_group_id != null
    error_message = "With existing endpoints nothing is created but the watchdog's group."
  }
}

run "outside_the_vpc_by_default" {
  command = plan
  assert {
    condition     = output.watchdog_security_group_id == null && module.shared.watchdog_vpc_endpoint_ids == {}
    error_message = "By default the watchdog stays outside the VPC."
  }
}

# The dashboards count from the declared jobs' names, known at plan through the map (the job
# modules' schedule names are only the values).
run "two_jobs_one_dashboard" {
  command = plan
  assert {
    condition     = output.dashboard_names == ["fleet"] && output.dashboard_name == "fleet" && length(module.shared.declared_jobs) == 2
    error_message = "Two declared jobs: one dashboard, the overview."
  }
}
