# Mock AWS defaults shared by every test file of this module (loaded through
# `mock_provider "aws" { source = "./tests/mocks" }`; the test file sets override_during = plan).
mock_data "aws_region" {
  defaults = { id = "eu-south-1", name = "eu-south-1" }
}
mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}
mock_data "aws_partition" {
  defaults = { partition = "aws" }
}
mock_data "aws_iam_policy_document" {
  defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}
mock_resource "aws_kms_key" {
  defaults = { arn = "arn:aws:kms:eu-south-1:123456789012:key/11111111-2222-3333-4444-555555555555", key_id = "11111111-2222-3333-4444-555555555555" }
}
mock_resource "aws_sqs_queue" {
  defaults = { arn = "arn:aws:sqs:eu-south-1:123456789012:fleet-failures" }
}
mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:eu-south-1:123456789012:fleet-alarms" }
}
mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/fleet-sched" }
}
mock_resource "aws_security_group" {
  defaults = { id = "sg-0a0b50a0b50a0b500" }
}
mock_resource "aws_vpc_endpoint" {
  defaults = { id = "vpce-0123456789abcdef0" }
}
# Known at plan (the subscriptions' check block needs it; a real first plan leaves it unknown).
mock_resource "aws_sns_topic_subscription" {
  defaults = { pending_confirmation = false }
}
# The watchdog's policy (jsonencode) names its log group: known at plan, as with a real provider
# on the second plan.
mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:eu-south-1:123456789012:log-group:/aws/lambda/fleet-watchdog" }
}
