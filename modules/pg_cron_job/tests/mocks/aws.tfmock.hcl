# Mock AWS defaults shared by every test file of this module (loaded through
# `mock_provider "aws" { source = "./tests/mocks" }`; the test file sets override_during = plan).
mock_data "aws_region" {
  defaults = { id = "eu-south-1", name = "eu-south-1" }
}
mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}
# Policy documents are asserted through their statement blocks; the JSON only has to be valid.
mock_data "aws_iam_policy_document" {
  defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}
mock_data "aws_partition" {
  defaults = { partition = "aws" }
}
mock_resource "aws_sqs_queue" {
  defaults = { arn = "arn:aws:sqs:eu-south-1:123456789012:purge-failures" }
}
mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/purge-role" }
}
mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:eu-south-1:123456789012:purge-alarms" }
}
mock_resource "aws_secretsmanager_secret" {
  defaults = { arn = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:purge-db-XyZabc" }
}
mock_resource "aws_lambda_function" {
  defaults = { arn = "arn:aws:lambda:eu-south-1:123456789012:function:purge" }
}
mock_resource "aws_kms_key" {
  defaults = { arn = "arn:aws:kms:eu-south-1:123456789012:key/11111111-2222-3333-4444-555555555555" }
}
mock_resource "aws_vpc_endpoint" {
  defaults = { id = "vpce-0123456789abcdef0" }
}
mock_resource "aws_security_group" {
  defaults = { id = "sg-0b0b50b0b50b0b500" }
}
mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:eu-south-1:123456789012:log-group:/aws/lambda/purge" }
}
# Known at plan (the subscriptions' check block needs it; a real first plan leaves it unknown).
mock_resource "aws_sns_topic_subscription" {
  defaults = { pending_confirmation = false }
}
