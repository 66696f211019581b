# One job against an existing database and secret (for example the RDS-managed master secret).
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

variable "region" {
  description = "AWS region of the database."
  type        = string
  default     = "eu-west-1"
}

variable "package_path" {
  description = "The zip from `make build`."
  type        = string
  default     = "../../.build/x86_64/pg-cron-job.zip"
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets with a NAT gateway or a Secrets Manager endpoint."
  type        = list(string)
}

variable "database_security_group_id" {
  description = "Security group of the RDS instance."
  type        = string
}

variable "secret_arn" {
  description = "Existing secret with RDS credentials JSON."
  type        = string
}

module "pg_cron_job" {
  source = "../../modules/pg_cron_job"

  name                       = "nightly-refresh"
  package_path               = var.package_path
  sql                        = "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.daily_sales"
  schedule_expression        = "cron(15 3 * * ? *)"
  secret_arn                 = var.secret_arn
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.subnet_ids
  database_security_group_id = var.database_security_group_id
}

output "function_name" {
  description = "The job's function."
  value       = module.pg_cron_job.function_name
}
