# One job on its own against an existing database and secret (for example the RDS-managed master
# secret): the module creates what a job needs that it is not given (security group, failures
# queue, scheduler role, KMS key, alarm topic). For several jobs use modules/pg_cron_jobs.
provider "aws" {
  region = var.region
}

module "pg_cron_job" {
  source = "../../modules/pg_cron_job"

  name                       = "nightly-refresh"
  package_path               = var.package_path
  architecture               = var.architecture
  sql                        = "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.daily_sales"
  schedule_expression        = "cron(15 3 * * ? *)"
  secret_arn                 = var.secret_arn
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.subnet_ids
  database_security_group_id = var.database_security_group_id
}
