# A realistic fleet: one VPC without NAT, one PostgreSQL instance, the shared layer (one security
# group for every job, one Secrets Manager endpoint, a KMS-encrypted alarm topic CloudWatch can
# publish to, one failures queue, one scheduler role) and three jobs through the jobs map:
# a nightly purge from a SQL file with its own rotated job-user secret, an hourly batched expiry,
# a weekly VACUUM ANALYZE with the RDS-managed master secret, and a nightly extraction that
# streams a query's rows to an S3 bucket (reached through an S3 gateway endpoint: no NAT).
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

# Where the extraction job writes (SSE-S3, no public access). force_destroy: an example.
resource "aws_s3_bucket" "exports" {
  bucket_prefix = "${var.name}-exports-"
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "exports" {
  bucket                  = aws_s3_bucket.exports.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "exports" {
  bucket = aws_s3_bucket.exports.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
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
  # The extraction job reaches S3 through a gateway endpoint on the subnets' (main) route table.
  create_s3_gateway_endpoint = true
  s3_gateway_route_table_ids = [aws_vpc.this.main_route_table_id]

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
      schedule_expression = "cron(30 3 * * ? *)"
      history_table       = "cron_jobs.job_run_details"
      # A dedicated job user; its secret is created (password never in state) and rotated every
      # 30 days by the built-in rotation function (the same package with ROTATION_STRATEGY,
      # in the jobs' subnets and security group). rotation_strategy = null turns it off;
      # rotation_lambda_arn brings your own function instead.
      create_secret               = true
      secret_username             = "purge_job"
      secret_recovery_window_days = 0
      rotation                    = var.rotation_strategy == null || var.rotation_lambda_arn != null ? null : { strategy = var.rotation_strategy, schedule = "rate(30 days)" }
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
    # An extraction: the query's rows as gzipped CSV (with a manifest) under events/ in the
    # bucket, one object per scheduled day; the role may write only under that prefix.
    export-events = {
      sql                 = "SELECT id, created_at FROM app.events ORDER BY id"
      schedule_expression = "cron(0 1 * * ? *)"
      read_only           = true
      export = {
        bucket_arn = aws_s3_bucket.exports.arn
        prefix     = "events/"
        key        = "{scheduled_date}/{job}.csv.gz"
        manifest   = true
      }
    }
    }, {
    # More jobs of the same shape, to measure what each job adds (see the module README).
    for i in range(var.extra_jobs) : format("analyze-%02d", i) => {
      sql                 = "ANALYZE app.events"
      schedule_expression = "cron(${i % 60} 3 * * ? *)"
    }
  })
}
