# A realistic fleet: one VPC without NAT, one PostgreSQL instance, the shared layer (one security
# group for every job, one Secrets Manager endpoint, a KMS-encrypted alarm topic CloudWatch can
# publish to, one failures queue, one scheduler role) and three jobs through the jobs map:
# a nightly purge from a SQL file with its own rotated job-user secret, an hourly batched expiry,
# and a weekly VACUUM ANALYZE with the RDS-managed master secret.
provider "aws" {
  region = var.region
}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  azs = slice(data.aws_availability_zones.available.names, 0, 2)
}

resource "aws_vpc" "this" {
  cidr_block           = "10.42.0.0/16"
  enable_dns_hostnames = true # both needed for the endpoint's private DNS
  enable_dns_support   = true
  tags                 = { Name = "${var.name}-vpc" }
}

resource "aws_subnet" "private" {
  count             = 2
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(aws_vpc.this.cidr_block, 8, count.index)
  availability_zone = local.azs[count.index]
  tags              = { Name = "${var.name}-private-${count.index}" }
}

resource "aws_security_group" "db" {
  name_prefix = "${var.name}-db-"
  description = "PostgreSQL for the pg_cron_job example"
  vpc_id      = aws_vpc.this.id
}

resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name}-"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_db_instance" "this" {
  identifier_prefix                   = "${var.name}-"
  engine                              = "postgres"
  engine_version                      = "15"
  instance_class                      = "db.t4g.micro"
  allocated_storage                   = 20
  storage_encrypted                   = true
  db_name                             = "app"
  username                            = "app_admin"
  manage_master_user_password         = true
  iam_database_authentication_enabled = true
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.db.id]
  skip_final_snapshot                 = true
  publicly_accessible                 = false
}

module "jobs" {
  source = "../../modules/pg_cron_jobs"

  name         = var.name
  package_path = var.package_path

  # Shared layer: one rule on the database's security group and one Secrets Manager endpoint
  # (the subnets have no NAT) for every job; alarms of every job go to one encrypted topic.
  vpc_id                     = aws_vpc.this.id
  subnet_ids                 = aws_subnet.private[*].id
  database_security_group_id = aws_security_group.db.id
  secretsmanager_endpoint    = "create"
  alarm_emails               = var.alarm_emails

  defaults = {
    database_host     = aws_db_instance.this.address
    database_name     = "app"
    secret_arn        = aws_db_instance.this.master_user_secret[0].secret_arn
    schedule_timezone = "Europe/Rome"
  }

  jobs = merge({
    purge-events = {
      sql_file            = "sql/purge_events.sql"
      sql_source_path     = "${path.module}/sql/purge_events.sql"
      transaction         = true
      schedule_expression = "cron(30 2 * * ? *)"
      history_table       = "cron_jobs.job_run_details"
      # A dedicated job user; its secret is created (password never in state) and rotated by the
      # rotation function, which runs with module.jobs.rotation_security_group_id.
      create_secret               = true
      secret_username             = "purge_job"
      secret_recovery_window_days = 0
      rotation_lambda_arn         = var.rotation_lambda_arn
      statement_timeout_ms        = 600000
    }
    expire-sessions = {
      sql_file            = "sql/expire_sessions.sql"
      sql_source_path     = "${path.module}/sql/expire_sessions.sql"
      schedule_expression = "rate(1 hour)"
      repeat_until_zero   = true
    }
    vacuum = {
      sql                 = "VACUUM (ANALYZE) app.events"
      schedule_expression = "cron(0 4 ? * SUN *)"
      schedule_timezone   = "UTC"
      timeout             = 900
    }
    }, {
    # More jobs of the same shape, to measure what each job adds (see the module README).
    for i in range(var.extra_jobs) : format("analyze-%02d", i) => {
      sql                 = "ANALYZE app.events"
      schedule_expression = "cron(${i % 60} 3 * * ? *)"
    }
  })
}
