#!/usr/bin/env python3
"""A fleet of JOBS jobs (default 200) planned and applied on the local AWS API server (moto):
examples/complete through modules/pg_cron_jobs with JOBS - 4 extra ANALYZE jobs, the real aws
provider. Prints the resource counts, the plan, apply, no-change plan and destroy times, and the
size of the scheduler and watchdog policies. Not a test: `make bench-fleet` (the figures of
modules/pg_cron_jobs/README.md); moto checks no IAM quotas, the policy sizes are checked by
modules/pg_cron_job_shared/tests (300 jobs)."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from harness import MotoServer, prepare_example, terraform  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
JOBS = int(os.environ.get("JOBS", "200"))
NAME = "pgcj-fleet"


def timed(work, env, *args):
    started = time.monotonic()
    out = terraform(work, *args, env=env)
    return time.monotonic() - started, out


def main() -> int:
    package = os.environ.get("PG_CRON_JOB_PACKAGE") or str(ROOT / ".build" / "x86_64" / "pg-cron-job.zip")
    if not pathlib.Path(package).is_file():
        print(f"no package at {package}: run make build first")
        return 1
    moto = MotoServer(ROOT / ".venv" / "bin")
    work = None
    try:
        work, env = prepare_example(ROOT / "examples" / "complete", ROOT / "modules" / "pg_cron_job", moto, package, NAME)
        extra = [f"-var=extra_jobs={JOBS - 4}", "-input=false", "-no-color"]
        plan_s, _ = timed(work, env, "plan", "-out=fleet.tfplan", *extra)
        plan = json.loads(terraform(work, "show", "-json", "fleet.tfplan", env=env))
        managed = [rc for rc in plan["resource_changes"] if rc["mode"] == "managed"]
        shared = sum(1 for rc in managed if rc["address"].startswith("module.jobs.module.shared."))
        per_job = {}
        for rc in managed:
            if rc["address"].startswith("module.jobs.module.job["):
                key = rc["address"].split('"')[1]
                per_job[key] = per_job.get(key, 0) + 1
        apply_s, _ = timed(work, env, "apply", "-auto-approve", "fleet.tfplan")
        replan_s, _ = timed(work, env, "plan", *extra)
        state = json.loads((work / "terraform.tfstate").read_text())
        policies = {}
        for r in state["resources"]:
            if r["type"] == "aws_iam_role_policy" and r.get("module") == "module.jobs.module.shared":
                for inst in r["instances"]:
                    policies[r["name"]] = len(inst["attributes"]["policy"])
        destroy_s, _ = timed(work, env, "destroy", "-auto-approve", "-input=false", "-no-color", f"-var=extra_jobs={JOBS - 4}")
        counts = sorted(set(per_job.values()))
        print(f"{JOBS} jobs on the local AWS API server: {len(managed)} resources ({shared} shared, per job {counts}); "
              f"plan {plan_s:.0f} s, apply {apply_s:.0f} s, second plan {replan_s:.0f} s, destroy {destroy_s:.0f} s; "
              f"inline policies (characters, IAM's quota 10,240 per role): {policies}")
        return 0
    finally:
        moto.stop()
        if work is not None:
            shutil.rmtree(work.parent.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
