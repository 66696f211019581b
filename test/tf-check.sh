#!/usr/bin/env bash
# terraform fmt/validate for every module and example, every example's required files, the
# modules' README input and output tables checked against variables.tf / outputs.tf, and the
# time zone list checked against tzdata.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin_args=()
[ -n "${TF_PLUGIN_DIR:-}" ] && plugin_args=(-plugin-dir="$TF_PLUGIN_DIR")
terraform fmt -check -recursive .
for dir in modules/*/ examples/*/; do
  echo "terraform validate $dir"
  (cd "$dir" && terraform init -backend=false -input=false "${plugin_args[@]}" >/dev/null && terraform validate -no-color >/dev/null)
done
for dir in modules/*/; do
  for f in README.md versions.tf outputs.tf variables.tf; do
    [ -f "$dir$f" ] || { echo "$dir lacks $f" >&2; exit 1; }
  done
done
for dir in examples/*/; do
  for f in README.md versions.tf outputs.tf; do
    [ -f "$dir$f" ] || { echo "$dir lacks $f" >&2; exit 1; }
  done
done
# The runner's EMF line publishes the runs and the watchdog judges every schedule: no log
# metric filter and no interval alarm may come back (moved.tf's removed blocks destroy them).
if grep -nE 'resource "aws_cloudwatch_log_metric_filter"|resource "aws_cloudwatch_metric_alarm" "not_succeeded"' modules/*/*.tf; then
  echo "modules: the log metric filter and the not-succeeded alarm were replaced by the watchdog's late alarm" >&2
  exit 1
fi
python3 test/tf_docs.py --check
python3 test/gen_timezones.py --check
