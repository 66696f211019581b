output "json" {
  description = "The policy document."
  value       = data.aws_iam_policy_document.this.json
}

output "statements" {
  description = "Its statements as aws_iam_policy_document blocks (sid, actions, resources, condition), known at plan where their resources are."
  value       = data.aws_iam_policy_document.this.statement
}
