variable "region" {
  description = "AWS region of the database."
  type        = string
  default     = "eu-west-1"
}

variable "package_path" {
  description = "The zip from `make build` (`make build ARCH=arm64` writes ../../.build/arm64/pg-cron-job.zip)."
  type        = string
  default     = "../../.build/x86_64/pg-cron-job.zip"
}

variable "architecture" {
  description = "Instruction set the package was built for: x86_64 or arm64 (Graviton, about 20% cheaper per GB-second)."
  type        = string
  default     = "x86_64"
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets with a NAT gateway (or set create_secretsmanager_endpoint in the module)."
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
