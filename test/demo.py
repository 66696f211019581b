#!/usr/bin/env python3
"""make demo: the whole path on this machine, with local stand-ins for AWS and RDS.

Starts a TLS PostgreSQL and a local AWS API server (moto) on 127.0.0.1, applies
examples/complete with the real module, sets up the purge job's database role from the secret
the module created, delivers one scheduled event to the packaged bootstrap through a loopback
Lambda Runtime API, prints the JSON result and the rows it changed, then destroys and stops
everything."""
import json
import os
import pathlib
import shutil
import sys
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from harness import (MotoServer, PostgresCluster, RuntimeApi, prepare_example,  # noqa: E402
                     seed_purge_database, terraform, unpack_package)

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAME = "pgcj-demo"


def step(msg):
    print(f"\n==> {msg}", flush=True)


def main():
    package = os.path.abspath(os.environ.get("PG_CRON_JOB_PACKAGE", ROOT / ".build/x86_64/pg-cron-job.zip"))
    t0 = time.monotonic()
    step("starting PostgreSQL 15 with TLS and a local AWS API server (moto) on 127.0.0.1")
    pg, moto = PostgresCluster().start(), MotoServer(pathlib.Path(sys.executable).parent)
    work = api = task_root = None
    try:
        print(f"PostgreSQL on 127.0.0.1:{pg.port}, AWS API on {moto.url}")
        step("terraform apply examples/complete (VPC, RDS, S3 bucket, the shared layer, four jobs, secret, schedules, alarms) - about 2 minutes")
        work, env = prepare_example(ROOT / "examples" / "complete", ROOT / "modules" / "pg_cron_job", moto, package, NAME)
        terraform(work, "apply", "-auto-approve", "-input=false", env=env)
        print(terraform(work, "output", "-no-color", env=env))

        fn = moto.client("lambda").get_function_configuration(FunctionName=f"{NAME}-purge-events")
        fn_env = {**fn["Environment"]["Variables"], "_HANDLER": fn["Handler"]}
        sched = moto.client("scheduler").get_schedule(Name=f"{NAME}-purge-events")
        print(f"schedule: {sched['ScheduleExpression']} in {sched['ScheduleExpressionTimezone']}")
        step("DBA set-up: role purge_job with the password from the module-created secret, sample data")
        secret = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=fn_env["DB_SECRET_ID"])["SecretString"])
        seed_purge_database(pg, secret["password"])
        before = pg.psql("SELECT count(*) FROM app.events", db="app")
        old = pg.psql("SELECT count(*) FROM app.events WHERE created_at < now() - interval '90 days'", db="app")
        print(f"app.events has {before} rows, {old} older than 90 days")

        step("delivering one scheduled event to the packaged bootstrap (Lambda Runtime API on loopback)")
        task_root = unpack_package(package)
        api = RuntimeApi()
        api.start_bootstrap(str(task_root / "bootstrap"), {
            **fn_env, **moto.env(), "LAMBDA_TASK_ROOT": str(task_root),
            "PGHOST": pg.host, "PGPORT": str(pg.port), "PGSSLROOTCERT": str(pg.ca.path),
        }, function_name=fn["FunctionName"])
        kind, result = api.invoke({"id": str(uuid.uuid4()), "scheduled_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        print(json.dumps(result, indent=2))
        print(f"app.events: {before} -> {pg.psql('SELECT count(*) FROM app.events', db='app')} rows")
        print("history:", pg.psql("SELECT run_id, status, rows_affected, duration_ms FROM cron_jobs.job_run_details", db="app"))
        if kind != "response":
            raise SystemExit("the job failed")
    finally:
        step("cleaning up: terraform destroy, stopping PostgreSQL and the AWS API server")
        if api:
            api.stop()
        if work:
            try:
                terraform(work, "destroy", "-auto-approve", "-input=false", env=env)
            finally:
                shutil.rmtree(work.parent.parent, ignore_errors=True)  # the copied example and modules
        if task_root:
            shutil.rmtree(task_root, ignore_errors=True)
        moto.stop()
        pg.stop()
        print(f"done in {time.monotonic() - t0:.0f}s; nothing is left running")


if __name__ == "__main__":
    main()
