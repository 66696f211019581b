# A VPC, a PostgreSQL instance, and two jobs: a purge from a SQL file at 02:30 Rome time with a
# rotated job-user secret, and a VACUUM ANALYZE with the RDS-managed master secret. Alarms go to SNS.
terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.90"
    }
  }
}

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
  enable_dns_hostnames = true
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

module "purge_events" {
  source = "../../modules/pg_cron_job"

  name                = "${var.name}-purge-events"
  package_path        = var.package_path
  sql_file            = "sql/purge_events.sql"
  transaction         = true
  schedule_expression = "cron(30 2 * * ? *)"
  schedule_timezone   = "Europe/Rome"

  # A dedicated job user; the module creates its secret (password never in state) and rotates it.
  create_secret                  = true
  secret_username                = "purge_job"
  secret_recovery_window_days    = 0
  database_host                  = aws_db_instance.this.address
  database_name                  = "app"
  rotation_lambda_arn            = var.rotation_lambda_arn
  rotation_days                  = 30
  history_table                  = "cron_jobs.job_run_details"
  statement_timeout_ms           = 600000
  vpc_id                         = aws_vpc.this.id
  subnet_ids                     = aws_subnet.private[*].id
  database_security_group_id     = aws_security_group.db.id
  create_secretsmanager_endpoint = true
  alarm_emails                   = var.alarm_emails
}

module "vacuum_analyze" {
  source = "../../modules/pg_cron_job"

  name                       = "${var.name}-vacuum"
  package_path               = var.package_path
  sql                        = "VACUUM (ANALYZE) app.events"
  schedule_expression        = "cron(0 4 ? * SUN *)"
  secret_arn                 = aws_db_instance.this.master_user_secret[0].secret_arn
  database_host              = aws_db_instance.this.address
  database_name              = "app"
  vpc_id                     = aws_vpc.this.id
  subnet_ids                 = aws_subnet.private[*].id
  database_security_group_id = aws_security_group.db.id
  https_egress_cidr_blocks   = [aws_vpc.this.cidr_block]
  create_alarm_topic         = false
  alarm_topic_arn            = module.purge_events.alarm_topic_arn
}
