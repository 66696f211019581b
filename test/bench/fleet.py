#!/usr/bin/env python3
"""A fleet of JOBS jobs (default 200) planned and applied on the local AWS API server (moto):
examples/complete through modules/pg_cron_jobs with JOBS - 4 extra ANALYZE jobs, the real aws
provider. Prints the resource counts, the plan, apply, no-change plan and destroy times, and the
size of the scheduler and watchdog policies. Not a test: `make bench-fleet` (the figures of
modules/pg_cron_jobs/README.md); moto checks no IAM quotas, the policy sizes are checked by
modules/pg_cron_job_shared/tests (300 jobs).

PACKAGE_FROM=s3 (the default) deploys the package from an S3 object, as a fleet should:
with `package_path` the aws provider uploads one function's zip at a time (it holds a lock
around each function's upload and creation, measured at about 8 s per function here), so a
200-job apply from a local zip takes about half an hour. PACKAGE_FROM=zip measures that."""
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
PACKAGE_FROM = os.environ.get("PACKAGE_FROM", "s3")
PACKAGE_BUCKET = "pgcj-fleet-packages"
PACKAGE_KEY = "pg-cron-job.zip"


def timed(work, env, *args):
    """Runs one terraform command and prints its time as soon as it ends (a long fleet run shows
    its progress step by step)."""
    started = time.monotonic()
    # A 200-job destroy took 856 s here: each step may take up to 40 minutes.
    out = terraform(work, *args, env=env, timeout=2400)
    took = time.monotonic() - started
    print(f"{JOBS} jobs, package from {PACKAGE_FROM}: terraform {args[0]} {took:.0f} s", flush=True)
    return took, out


def main() -> int:
    package = os.environ.get("PG_CRON_JOB_PACKAGE") or str(ROOT / ".build" / "x86_64" / "pg-cron-job.zip")
    if not pathlib.Path(package).is_file():
        print(f"no package at {package}: run make build first")
        return 1
    if PACKAGE_FROM not in ("s3", "zip"):
        print(f"PACKAGE_FROM={PACKAGE_FROM}: expected s3 or zip")
        return 2
    moto = MotoServer(ROOT / ".venv" / "bin")
    work = None
    try:
        work, env = prepare_example(ROOT / "examples" / "complete", ROOT / "modules" / "pg_cron_job", moto, package, NAME)
        if PACKAGE_FROM == "s3":
            s3 = moto.client("s3")
            s3.create_bucket(Bucket=PACKAGE_BUCKET)
            s3.upload_file(package, PACKAGE_BUCKET, PACKAGE_KEY)
            # An override file (merged into the example's module block): the fleet's package is
            # the S3 object instead of the local zip.
            (work / "fleet_override.tf").write_text(
                f'module "jobs" {{\n  package_path      = null\n  package_s3_bucket = "{PACKAGE_BUCKET}"\n'
                f'  package_s3_key    = "{PACKAGE_KEY}"\n}}\n')
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
        print(f"{JOBS} jobs on the local AWS API server, package from {PACKAGE_FROM}: {len(managed)} resources ({shared} shared, per job {counts}); "
              f"plan {plan_s:.0f} s, apply {apply_s:.0f} s, second plan {replan_s:.0f} s, destroy {destroy_s:.0f} s; "
              f"inline policies (characters, IAM's quota 10,240 per role): {policies}")
        return 0
    finally:
        moto.stop()
        if work is not None:
            shutil.rmtree(work.parent.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
