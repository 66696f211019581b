resource "aws_security_group" "lambda" {
  name_prefix = "${var.name}-lambda-"
  description = "pg_cron_job ${var.name}: egress to the database port and HTTPS only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-lambda" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "database_sg" {
  # Counts use only plan-time-known inputs, so the database security group may be created in the same apply.
  count                        = length(var.database_cidr_blocks) == 0 ? 1 : 0
  security_group_id            = aws_security_group.lambda.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = var.database_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "database_cidr" {
  for_each          = toset(var.database_cidr_blocks)
  security_group_id = aws_security_group.lambda.id
  description       = "PostgreSQL"
  ip_protocol       = "tcp"
  from_port         = var.database_port
  to_port           = var.database_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "https" {
  for_each          = toset(var.https_egress_cidr_blocks)
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to AWS APIs (Secrets Manager, STS, Lambda)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "database" {
  count                        = var.create_database_ingress_rule ? 1 : 0
  security_group_id            = var.database_security_group_id
  description                  = "pg_cron_job ${var.name}"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_security_group" "endpoint" {
  count       = var.create_secretsmanager_endpoint ? 1 : 0
  name_prefix = "${var.name}-sm-endpoint-"
  description = "Secrets Manager endpoint for pg_cron_job ${var.name}"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-secretsmanager-endpoint" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "endpoint" {
  count                        = var.create_secretsmanager_endpoint ? 1 : 0
  security_group_id            = aws_security_group.endpoint[0].id
  description                  = "HTTPS from the job function"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_egress_rule" "endpoint" {
  count                        = var.create_secretsmanager_endpoint ? 1 : 0
  security_group_id            = aws_security_group.lambda.id
  description                  = "HTTPS to the Secrets Manager endpoint"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoint[0].id
}

resource "aws_vpc_endpoint" "secretsmanager" {
  count               = var.create_secretsmanager_endpoint ? 1 : 0
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${local.region}.secretsmanager"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.endpoint[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-secretsmanager" })
}
