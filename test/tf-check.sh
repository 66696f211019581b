#!/usr/bin/env bash
# terraform fmt/validate for the module and every example, and the module README's input and
# output tables checked against variables.tf / outputs.tf.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin_args=()
[ -n "${TF_PLUGIN_DIR:-}" ] && plugin_args=(-plugin-dir="$TF_PLUGIN_DIR")
terraform fmt -check -recursive .
for dir in modules/pg_cron_job examples/*/; do
  echo "terraform validate $dir"
  (cd "$dir" && terraform init -backend=false -input=false "${plugin_args[@]}" >/dev/null && terraform validate -no-color >/dev/null)
done
python3 test/tf_docs.py --check
