#!/usr/bin/env bash
# terraform test (mocked provider) for every module, then the plan errors expect_failures cannot
# name (test/tf_must_fail.py), all attached to one AWS provider process (test/tf_reattach.py):
# terraform would otherwise start the provider twice per run, about a CPU-second each time.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=()
if [ -n "${TF_PLUGIN_DIR:-}" ]; then plugin=(-plugin-dir="$TF_PLUGIN_DIR"); fi
for m in modules/*/; do
  (cd "$m" && terraform init -backend=false -input=false "${plugin[@]}" >/dev/null)
done
exec python3 test/tf_reattach.py modules/pg_cron_job -- bash -c '
  set -euo pipefail
  for m in modules/*/; do echo "terraform test $m"; (cd "$m" && terraform test); done
  python3 test/tf_must_fail.py'
