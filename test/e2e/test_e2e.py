"""End to end: `terraform apply` examples/complete (the real module, the real aws provider) against
a real AWS API server (moto) on loopback, read back what was created, run the built bootstrap
the way Lambda runs it (Runtime API on loopback, the function's own environment) against a real
TLS PostgreSQL, then `terraform destroy` and check nothing is left.

Stand-ins, because nothing real can run here: moto stores the Lambda but cannot execute it (so
the test runs the same package's bootstrap itself), moto's RDS instance has no server behind it
(so PGHOST/PGPORT point at the local cluster), and rotation is off (moto would try to execute
the rotation function)."""
import json
import os
import pathlib
import shutil
import time
import uuid
import zipfile

import pytest

from harness import RuntimeApi, prepare_example, seed_purge_database, terraform, unpack_package

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAME = "pgcj-e2e"
PURGE = f"{NAME}-purge-events"
VACUUM = f"{NAME}-vacuum"


@pytest.fixture(scope="module")
def package():
    path = os.environ.get("PG_CRON_JOB_PACKAGE", str(ROOT / ".build" / "x86_64" / "pg-cron-job.zip"))
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: run through `make test` (it runs make build)")
    return os.path.abspath(path)


@pytest.fixture(scope="module")
def applied(moto, package):
    work, env = prepare_example(ROOT / "examples" / "complete", ROOT / "modules" / "pg_cron_job", moto, package, NAME)
    started = time.monotonic()
    terraform(work, "apply", "-auto-approve", "-input=false", env=env)
    print(f"terraform apply took {time.monotonic() - started:.1f}s")
    yield work, env
    terraform(work, "destroy", "-auto-approve", "-input=false", env=env)
    state = json.loads((work / "terraform.tfstate").read_text())
    assert state["resources"] == [], "destroy left resources in the state"
    lam, sched, sm = moto.client("lambda"), moto.client("scheduler"), moto.client("secretsmanager")
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith(NAME)] == []
    assert [s["Name"] for s in sched.list_schedules()["Schedules"] if s["Name"].startswith(NAME)] == []
    assert [s["Name"] for s in sm.list_secrets()["SecretList"] if s["Name"].startswith(NAME)] == []
    shutil.rmtree(work, ignore_errors=True)


def test_apply_creates_what_the_module_promises(applied, moto, package):
    lam = moto.client("lambda")
    fn = lam.get_function_configuration(FunctionName=PURGE)
    env = fn["Environment"]["Variables"]
    assert fn["Runtime"] == "provided.al2023" and fn["Handler"] == "bootstrap"
    assert env["SQL_FILE"] == "sql/purge_events.sql" and "SQL" not in env
    assert env["TRANSACTION"] == "true" and env["PGSSLMODE"] == "verify-full"
    assert env["HISTORY_TABLE"] == "cron_jobs.job_run_details"
    assert env["DB_SECRET_ID"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert len(fn["VpcConfig"]["SubnetIds"]) == 2 and len(fn["VpcConfig"]["SecurityGroupIds"]) == 1
    with zipfile.ZipFile(package) as z:
        assert "sql/purge_events.sql" in z.namelist() and "bootstrap" in z.namelist()

    vac = lam.get_function_configuration(FunctionName=VACUUM)["Environment"]["Variables"]
    assert vac["SQL"] == "VACUUM (ANALYZE) app.events" and "SQL_FILE" not in vac

    schedule = moto.client("scheduler").get_schedule(Name=PURGE)
    assert schedule["ScheduleExpression"] == "cron(30 2 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Rome"
    assert schedule["Target"]["Arn"] == fn["FunctionArn"]
    assert schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0

    iam = moto.client("iam")
    role = fn["Role"].split("/")[-1]
    policy = iam.get_role_policy(RoleName=role, PolicyName="pg-cron-job")["PolicyDocument"]
    if isinstance(policy, str):
        policy = json.loads(policy)
    secret_statements = [s for s in policy["Statement"] if "secretsmanager:GetSecretValue" in json.dumps(s["Action"])]
    assert len(secret_statements) == 1 and secret_statements[0]["Resource"] == env["DB_SECRET_ID"]

    secret = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=env["DB_SECRET_ID"])["SecretString"])
    assert secret["username"] == "purge_job" and len(secret["password"]) == 64
    state = (applied[0] / "terraform.tfstate").read_text()
    assert secret["password"] not in state, "the generated password must never reach Terraform state"


def test_scheduled_run_purges_and_failures_reach_the_runtime(applied, moto, pg, package):
    lam = moto.client("lambda")
    fn = lam.get_function_configuration(FunctionName=PURGE)
    fn_env = fn["Environment"]["Variables"]
    secret = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=fn_env["DB_SECRET_ID"])["SecretString"])

    # The DBA's one-time set-up from the module README: the job role with the secret's password.
    seed_purge_database(pg, secret["password"])
    package_dir = unpack_package(package)
    bootstrap = package_dir / "bootstrap"

    run_env = {
        **fn_env,
        **moto.env(),
        "LAMBDA_TASK_ROOT": str(package_dir),
        "PGHOST": pg.host,  # moto's RDS endpoint has no server behind it
        "PGPORT": str(pg.port),
        "PGSSLROOTCERT": str(pg.ca.path),  # the test's CA instead of the Amazon RDS bundle
    }
    api = RuntimeApi()
    try:
        api.start_bootstrap(str(bootstrap), run_env, function_name=PURGE)
        event = {"id": str(uuid.uuid4()), "scheduled_time": "2026-11-25T01:30:00Z",
                 "schedule_arn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{PURGE}", "attempt": "1"}
        kind, body = api.invoke(event)
        assert kind == "response", f"{body}\n{api.logs()}"
        assert body["status"] == "succeeded" and body["statements"] == 2
        assert body["rows_affected"] == 111 + 56, body  # events 90..200 days old and the audit rows of the even ones
        assert pg.psql("SELECT count(*) FROM app.events", db="app") == "89"
        assert pg.psql("SELECT count(*) FROM app.events WHERE created_at < now() - interval '90 days'", db="app") == "0"
        history = pg.psql(f"SELECT status || ':' || rows_affected FROM cron_jobs.job_run_details WHERE event_id = '{event['id']}'", db="app")
        assert history == f"succeeded:{body['rows_affected']}"

        kind, again = api.invoke(event)
        assert kind == "response" and again["status"] == "skipped" and again["reason"] == "duplicate_event", again

        pg.psql("ALTER TABLE app.event_audit RENAME TO event_audit_moved", db="app")
        kind, err = api.invoke(dict(event, id=str(uuid.uuid4())))
        assert kind == "error", err
        result = json.loads(err["errorMessage"])
        assert result["status"] == "failed" and result["error"]["code"] == "42P01"
        assert secret["password"] not in api.logs()
    finally:
        api.stop()
        shutil.rmtree(package_dir, ignore_errors=True)
