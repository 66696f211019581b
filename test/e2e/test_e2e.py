"""End to end: `terraform apply` examples/complete (a four-job fleet through modules/pg_cron_jobs,
the real aws provider) against a real AWS API server (moto) on loopback, read back what was
created, run three different jobs' packaged bootstrap the way Lambda runs them (Runtime API on
loopback, each function's own deployed environment) against a real TLS PostgreSQL (the
extraction job streams into the bucket the example created, on the same server's S3), check that a
second plan changes nothing, that an edited SQL file changes exactly its job, plan a 200-job
fleet (resources per job, a shared layer that does not grow), then `terraform destroy` and check
nothing is left.

Stand-ins, because nothing real can run here: moto stores the Lambda but cannot execute it (so
the test runs the same package's bootstrap itself), moto's RDS instance has no server behind it
(so PGHOST/PGPORT point at the local cluster), and the built-in rotation of the purge job's
secret is deployed and configured but never run here (moto's RotateSecret cannot execute the
function; the four rotation steps are driven against PostgreSQL by test/integration). AWS rules
moto does not enforce are asserted by the module tests (`terraform test`), not here."""
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from harness import RuntimeApi, built_package, deployed_env, prepare_example, run_oneshot, seed_purge_database, terraform, unpack_package

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "complete"
NAME = "pgcj-e2e"
PURGE = f"{NAME}-purge-events"
EXPIRE = f"{NAME}-expire-sessions"
VACUUM = f"{NAME}-vacuum"
EXPORT = f"{NAME}-export-events"
ROTATION = f"{PURGE}-rotation"

# Attributes moto does not store, so a plan right after apply shows them again. Checked both ways
# by test_second_plan_changes_nothing_but_known_moto_gaps: any other change fails the test, and a
# gap that no longer shows (moto fixed it) must be removed from this list.
MOTO_GAPS = {
    # GetFunctionConfiguration returns no LoggingConfig.
    ("aws_lambda_function", "logging_config"),
    # Security group rules that reference a group come back without their description.
    ("aws_vpc_security_group_egress_rule", "description"),
    ("aws_vpc_security_group_ingress_rule", "description"),
    # RotateSecret with RotateImmediately=false leaves RotationEnabled false in moto, and the
    # provider reads rotation_lambda_arn back only for an enabled rotation; the rotation rules
    # come back as AutomaticallyAfterDays 0 instead of the schedule expression.
    ("aws_secretsmanager_secret_rotation", "rotation_lambda_arn"),
    ("aws_secretsmanager_secret_rotation", "rotation_rules"),
}


@pytest.fixture(scope="module")
def package():
    return built_package("PG_CRON_JOB_PACKAGE", "x86_64")


@pytest.fixture(scope="module")
def applied(moto, package):
    work, env = prepare_example(EXAMPLE, ROOT / "modules" / "pg_cron_job", moto, package, NAME)
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
    shutil.rmtree(work.parent.parent, ignore_errors=True)


def plan_changes(work, env, *args):
    """terraform plan -detailed-exitcode; returns (exit code, [(address, type, actions, changed attributes)])."""
    proc = subprocess.run(["terraform", "plan", "-detailed-exitcode", "-input=false", "-no-color", "-out=e2e.tfplan", *args],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode in (0, 2), proc.stdout[-3000:] + proc.stderr[-3000:]
    plan = json.loads(terraform(work, "show", "-json", "e2e.tfplan", env=env))
    changes = []
    for rc in plan.get("resource_changes", []):
        if rc["mode"] != "managed":
            continue
        before, after = rc["change"]["before"] or {}, rc["change"]["after"] or {}
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        changes.append((rc["address"], rc["type"], rc["change"]["actions"], changed))
    return proc.returncode, changes


def real_change(change) -> bool:
    """Whether a plan_changes entry changes something (not a no-op, not only a known moto gap)."""
    _, kind, actions, changed = change
    return actions != ["no-op"] and not (actions == ["update"] and all((kind, a) in MOTO_GAPS for a in changed))


def test_apply_creates_one_shared_layer_and_three_jobs(applied, moto, package):
    lam = moto.client("lambda")
    fns = {n: lam.get_function_configuration(FunctionName=n) for n in (PURGE, EXPIRE, VACUUM, EXPORT)}
    envs = {n: f["Environment"]["Variables"] for n, f in fns.items()}
    for f in fns.values():
        assert f["Runtime"] == "provided.al2023" and f["Handler"] == "job"
        assert len(f["VpcConfig"]["SubnetIds"]) == 2
    # One security group for every job (one rule on the database's group).
    groups = {tuple(f["VpcConfig"]["SecurityGroupIds"]) for f in fns.values()}
    assert len(groups) == 1 and len(next(iter(groups))) == 1, groups

    purge = envs[PURGE]
    assert purge["SQL_FILE"] == "sql/purge_events.sql" and "SQL" not in purge
    assert purge["SQL_SHA256"] == hashlib.sha256((EXAMPLE / "sql" / "purge_events.sql").read_bytes()).hexdigest()
    assert purge["TRANSACTION"] == "true" and purge["PGSSLMODE"] == "verify-full"
    assert purge["HISTORY_TABLE"] == "cron_jobs.job_run_details" and purge["RUST_LOG"] == "info"
    assert purge["DB_SECRET_ID"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert envs[EXPIRE]["SQL_SHA256"] == hashlib.sha256((EXAMPLE / "sql" / "expire_sessions.sql").read_bytes()).hexdigest()
    assert envs[EXPIRE]["REPEAT_UNTIL_ZERO"] == "true"
    assert envs[VACUUM]["SQL"] == "VACUUM (ANALYZE) app.events" and "SQL_FILE" not in envs[VACUUM]
    # The jobs without their own secret share the RDS-managed master secret (the defaults).
    assert envs[EXPIRE]["DB_SECRET_ID"] == envs[VACUUM]["DB_SECRET_ID"] == envs[EXPORT]["DB_SECRET_ID"] != purge["DB_SECRET_ID"]
    with zipfile.ZipFile(package) as z:
        assert {"bootstrap", "sql/purge_events.sql", "sql/expire_sessions.sql"} <= set(z.namelist())

    sched = moto.client("scheduler")
    # The jobs' schedules are in the fleet's own Scheduler group (named after the fleet).
    schedules = {n: sched.get_schedule(GroupName=NAME, Name=n) for n in fns}
    assert schedules[PURGE]["ScheduleExpression"] == "cron(30 3 * * ? *)"
    assert schedules[PURGE]["ScheduleExpressionTimezone"] == "Europe/Rome"
    assert schedules[EXPIRE]["ScheduleExpression"] == "rate(1 hour)"
    assert all(s["Target"]["Arn"] == fns[n]["FunctionArn"] for n, s in schedules.items())
    assert len({s["Target"]["RoleArn"] for s in schedules.values()}) == 1, "one scheduler role for the fleet"
    assert len({s["Target"]["DeadLetterConfig"]["Arn"] for s in schedules.values()}) == 1, "one failures queue"
    assert all(s["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0 for s in schedules.values())

    iam = moto.client("iam")
    policy = iam.get_role_policy(RoleName=fns[PURGE]["Role"].split("/")[-1], PolicyName="pg-cron-job")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    secret_statements = [s for s in policy["Statement"] if "secretsmanager:GetSecretValue" in json.dumps(s["Action"])]
    assert len(secret_statements) == 1 and secret_statements[0]["Resource"] == purge["DB_SECRET_ID"]
    assert any(s.get("Sid") == "EncryptedFailureDestination" for s in policy["Statement"])

    # One Secrets Manager endpoint for the VPC, admitting the jobs' group.
    ec2 = moto.client("ec2")
    vpc_id = ec2.describe_subnets(SubnetIds=fns[PURGE]["VpcConfig"]["SubnetIds"])["Subnets"][0]["VpcId"]
    endpoints = [e for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
                 if e["ServiceName"].endswith(".secretsmanager")]
    assert len(endpoints) == 1 and endpoints[0]["PrivateDnsEnabled"]

    # The alarm topic is encrypted with the fleet's customer key, whose policy lets CloudWatch use it.
    outputs = json.loads(terraform(applied[0], "output", "-json", env=applied[1]))
    topic = moto.client("sns").get_topic_attributes(TopicArn=outputs["alarm_topic_arn"]["value"])["Attributes"]
    key_id = topic["KmsMasterKeyId"]
    assert not key_id.startswith("alias/aws/")
    key_policy = json.loads(moto.client("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert any(s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com" for s in key_policy["Statement"])

    # Each job's alarms watch that job only; the fleet's own alarms watch the watchdog and the
    # failures queue; the rotated job's rotation function has its error alarm.
    alarms = moto.client("cloudwatch").describe_alarms(AlarmNamePrefix=NAME)["MetricAlarms"]
    per_job = {f"{n}-{kind}" for n in fns for kind in ("failed", "late")}
    fleet = {f"{NAME}-watchdog-errors", f"{NAME}-watchdog-not-running", f"{NAME}-watchdog-unjudged", f"{NAME}-failures-queue", f"{PURGE}-rotation-failed"}
    assert {a["AlarmName"] for a in alarms} == per_job | fleet
    for a in alarms:
        # No OK actions (a new alarm's INSUFFICIENT_DATA -> OK would notify): recoveries go
        # through the fleet's EventBridge rule.
        assert a["AlarmActions"] == [outputs["alarm_topic_arn"]["value"]] and a.get("OKActions", []) == [], a
        if a["AlarmName"] not in per_job:
            continue
        job = a["AlarmName"].removesuffix("-late").removesuffix("-failed")
        want = {"Name": "FunctionName", "Value": job} if a["AlarmName"].endswith("-failed") else {"Name": "Job", "Value": envs[job]["JOB_NAME"]}
        assert a["Dimensions"] == [want], (a["AlarmName"], a["Dimensions"])
        if a["AlarmName"].endswith("-late"):
            assert (a["Namespace"], a["MetricName"], a["TreatMissingData"]) == ("PgCronJob", "Late", "missing"), a
            assert (a["EvaluationPeriods"], a["DatapointsToAlarm"]) == (3, 1), a
    not_running = next(a for a in alarms if a["AlarmName"] == f"{NAME}-watchdog-not-running")
    assert not_running["InsufficientDataActions"] == [outputs["alarm_topic_arn"]["value"]], not_running

    # The extraction job: its EXPORT_* variables, and a role that may write under events/ only
    # (moto does not enforce IAM: the exact grant is asserted by the module's terraform test too).
    bucket = outputs["exports_bucket"]["value"]
    assert {k: v for k, v in envs[EXPORT].items() if k.startswith("EXPORT_")} == {
        "EXPORT_S3_URI": f"s3://{bucket}/events/{{scheduled_date}}/{{job}}.csv.gz",
        "EXPORT_FORMAT": "csv", "EXPORT_HEADER": "true", "EXPORT_MANIFEST": "true",
    }
    assert envs[EXPORT]["READ_ONLY"] == "true" and envs[EXPORT]["TRANSACTION"] == "false"
    export_policy = iam.get_role_policy(RoleName=fns[EXPORT]["Role"].split("/")[-1], PolicyName="pg-cron-job")["PolicyDocument"]
    export_policy = json.loads(export_policy) if isinstance(export_policy, str) else export_policy
    s3_statements = [st for st in export_policy["Statement"] if "s3:" in json.dumps(st["Action"])]
    assert len(s3_statements) == 1, s3_statements
    as_list = lambda v: sorted(v) if isinstance(v, list) else [v]
    assert as_list(s3_statements[0]["Action"]) == ["s3:AbortMultipartUpload", "s3:PutObject"]
    assert as_list(s3_statements[0]["Resource"]) == [f"arn:aws:s3:::{bucket}/events/*"]
    assert not any("s3:" in json.dumps(st["Action"]) for st in policy["Statement"]), "only the extraction job may write to S3"
    gateways = [e for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
                if e["ServiceName"].endswith(".s3")]
    assert len(gateways) == 1 and gateways[0]["VpcEndpointType"] == "Gateway" and gateways[0]["RouteTableIds"]

    secret = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=purge["DB_SECRET_ID"])["SecretString"])
    assert secret["username"] == "purge_job" and len(secret["password"]) == 64
    assert secret["password"] not in (applied[0] / "terraform.tfstate").read_text(), "the generated password must never reach Terraform state"


def test_builtin_rotation_function_is_limited_to_the_purge_secret(applied, moto):
    """The purge job's secret is rotated by the same package (ROTATION_STRATEGY), in the jobs'
    network, invocable only by Secrets Manager for that secret, allowed to touch only it."""
    lam, sm, iam = moto.client("lambda"), moto.client("secretsmanager"), moto.client("iam")
    purge = lam.get_function_configuration(FunctionName=PURGE)
    rot = lam.get_function_configuration(FunctionName=ROTATION)
    secret_arn = purge["Environment"]["Variables"]["DB_SECRET_ID"]
    assert rot["Runtime"] == "provided.al2023" and rot["Handler"] == "rotation"
    assert rot["CodeSha256"] == purge["CodeSha256"], "the rotation function is the job's package"
    assert rot["Environment"]["Variables"]["ROTATION_STRATEGY"] == "single-user"
    assert rot["Environment"]["Variables"]["PGSSLMODE"] == "verify-full"
    assert sorted(rot["VpcConfig"]["SubnetIds"]) == sorted(purge["VpcConfig"]["SubnetIds"])
    assert rot["VpcConfig"]["SecurityGroupIds"] == purge["VpcConfig"]["SecurityGroupIds"], "the jobs' security group"
    assert rot["Role"] != purge["Role"]

    statements = json.loads(lam.get_policy(FunctionName=ROTATION)["Policy"])["Statement"]
    assert len(statements) == 1 and statements[0]["Principal"] == {"Service": "secretsmanager.amazonaws.com"}
    assert statements[0]["Condition"]["ArnLike"]["AWS:SourceArn"] == secret_arn

    policy = iam.get_role_policy(RoleName=rot["Role"].split("/")[-1], PolicyName="pg-cron-job-rotation")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    as_list = lambda v: v if isinstance(v, list) else [v]
    secret_resources = {r for st in policy["Statement"] for r in as_list(st["Resource"])
                        if any(a.startswith("secretsmanager:") and a != "secretsmanager:GetRandomPassword" for a in as_list(st["Action"]))}
    assert secret_resources == {secret_arn}, policy

    described = sm.describe_secret(SecretId=secret_arn)
    assert described["RotationLambdaARN"] == rot["FunctionArn"]


def run_env(fn_env, moto, pg, package_dir):
    return {
        **fn_env,
        **moto.env(),
        "LAMBDA_TASK_ROOT": str(package_dir),
        "PGHOST": pg.host,  # moto's RDS endpoint has no server behind it
        "PGPORT": str(pg.port),
        "PGSSLROOTCERT": str(pg.ca.path),  # the test's CA instead of the Amazon RDS bundle
    }


def test_purge_job_runs_and_failures_reach_the_runtime(applied, moto, pg, package):
    fn_env = deployed_env(moto.client("lambda"), PURGE)
    secret = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=fn_env["DB_SECRET_ID"])["SecretString"])

    # The DBA's one-time set-up from the module README: the job role with the secret's password.
    seed_purge_database(pg, secret["password"])
    package_dir = unpack_package(package)
    api = RuntimeApi()
    try:
        api.start_bootstrap(str(package_dir / "bootstrap"), run_env(fn_env, moto, pg, package_dir), function_name=PURGE)
        event = {"id": str(uuid.uuid4()), "scheduled_time": "2026-11-25T02:30:00Z",
                 "schedule_arn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{PURGE}", "attempt": "1"}
        kind, body = api.invoke(event)
        assert kind == "response", f"{body}\n{api.logs()}"
        assert body["status"] == "succeeded" and body["statements"] == 2
        assert body["rows_affected"] == 111 + 56, body  # events 90..200 days old and the audit rows of the even ones
        assert pg.psql("SELECT count(*) FROM app.events", db="app") == "89"
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
        # The line the per-job metrics come from: the success metric filter (job and status fields,
        # upper-case level) and the Embedded Metric Format document (Runs, Succeeded, dimension Job).
        finished = [json.loads(l) for l in api.logs().splitlines() if '"job finished"' in l]
        assert finished and finished[0]["job"] == PURGE and finished[0]["level"] == "INFO", finished
        assert finished[0]["Job"] == PURGE and finished[0]["Runs"] == 1 and finished[0]["Succeeded"] == 1, finished
        assert finished[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Job"]], finished
    finally:
        api.stop()
        shutil.rmtree(package_dir, ignore_errors=True)


def test_second_job_runs_with_the_shared_master_secret(applied, moto, pg, package):
    fn_env = deployed_env(moto.client("lambda"), EXPIRE)
    secret = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=fn_env["DB_SECRET_ID"])["SecretString"])
    user, password = secret["username"], secret["password"]
    pg.psql("CREATE DATABASE app") if pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'app'") == "0" else None
    pg.psql(f"DROP ROLE IF EXISTS {user}")
    pg.psql(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
    pg.psql(f"""
        CREATE SCHEMA IF NOT EXISTS app;
        CREATE TABLE app.sessions (id bigint PRIMARY KEY, expires_at timestamptz NOT NULL);
        INSERT INTO app.sessions SELECT g, now() + (CASE WHEN g <= 23456 THEN -1 ELSE 1 END) * interval '1 hour'
          FROM generate_series(1, 25000) g;
        GRANT USAGE ON SCHEMA app TO {user};
        GRANT SELECT, DELETE ON app.sessions TO {user};
    """, db="app")
    package_dir = unpack_package(package)
    api = RuntimeApi()
    try:
        api.start_bootstrap(str(package_dir / "bootstrap"), run_env(fn_env, moto, pg, package_dir), function_name=EXPIRE)
        kind, body = api.invoke({"id": str(uuid.uuid4()), "scheduled_time": "2026-11-25T10:00:00Z"})
        assert kind == "response", f"{body}\n{api.logs()}"
        assert body["status"] == "succeeded" and body["rows_affected"] == 23456, body
        assert pg.psql("SELECT count(*) FROM app.sessions", db="app") == str(25000 - 23456)
    finally:
        api.stop()
        shutil.rmtree(package_dir, ignore_errors=True)


def test_extraction_job_streams_to_the_bucket(applied, moto, pg, package):
    """The export job's packaged bootstrap, with its deployed environment, writes the query's rows
    as gzipped CSV and the manifest into the bucket the example created (moto's S3; the runner
    uses path-style requests when AWS_ENDPOINT_URL is set)."""
    import csv
    import gzip
    import io
    fn_env = deployed_env(moto.client("lambda"), EXPORT)
    secret = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=fn_env["DB_SECRET_ID"])["SecretString"])
    user, password = secret["username"], secret["password"]
    if pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'app'") == "0":
        pg.psql("CREATE DATABASE app")
    if pg.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{user}'") == "0":
        pg.psql(f"CREATE ROLE {user} LOGIN")
    pg.psql(f"ALTER ROLE {user} PASSWORD '{password}'")
    pg.psql(f"""
        CREATE SCHEMA IF NOT EXISTS app;
        CREATE TABLE IF NOT EXISTS app.events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
        INSERT INTO app.events SELECT g, now() - g * interval '1 day' FROM generate_series(1000, 3499) g;
        GRANT USAGE ON SCHEMA app TO {user};
        GRANT SELECT ON app.events TO {user};
    """, db="app")
    expected_ids = pg.psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM app.events", db="app").split(",")
    bucket = fn_env["EXPORT_S3_URI"].removeprefix("s3://").split("/", 1)[0]
    key = f"events/2026-11-25/{EXPORT}.csv.gz"
    package_dir = unpack_package(package)
    api = RuntimeApi()
    try:
        api.start_bootstrap(str(package_dir / "bootstrap"), run_env(fn_env, moto, pg, package_dir), function_name=EXPORT)
        kind, body = api.invoke({"id": str(uuid.uuid4()), "scheduled_time": "2026-11-25T00:00:00Z"})
        assert kind == "response", f"{body}\n{api.logs()}"
        assert body["status"] == "succeeded" and body["rows_exported"] == len(expected_ids), body
        assert body["s3_uri"] == f"s3://{bucket}/{key}", body
    finally:
        api.stop()
        shutil.rmtree(package_dir, ignore_errors=True)
    s3 = moto.client("s3")
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    rows = list(csv.reader(io.StringIO(gzip.decompress(data).decode())))
    assert rows[0] == ["id", "created_at"] and [r[0] for r in rows[1:]] == expected_ids
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key + ".manifest.json")["Body"].read())
    assert manifest["rows"] == len(expected_ids) and manifest["sha256"] == hashlib.sha256(data).hexdigest(), manifest
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == [], "no upload left in progress"


def test_second_plan_changes_nothing_but_known_moto_gaps(applied):
    work, env = applied
    code, changes = plan_changes(work, env)
    # The same plan (e2e.tfplan, as planned by the real provider): no alarm has OK actions (a
    # first deploy would send one OK per alarm) and none watches the number of messages in the
    # failures queue (nothing drains it: it would stay in ALARM after the first record).
    plan = json.loads(terraform(work, "show", "-json", "e2e.tfplan", env=env))
    alarms = [rc for rc in plan.get("resource_changes", []) if rc["type"] == "aws_cloudwatch_metric_alarm" and rc["mode"] == "managed"]
    assert alarms, "the plan has the example's alarms"
    assert [rc["address"] for rc in alarms if (rc["change"]["after"] or {}).get("ok_actions")] == [], alarms
    assert [rc["address"] for rc in alarms if (rc["change"]["after"] or {}).get("metric_name") == "ApproximateNumberOfMessagesVisible"] == []
    changed = [c for c in changes if c[2] != ["no-op"]]
    unexpected = [c for c in changes if real_change(c)]
    assert unexpected == [], f"the module changes something right after apply: {unexpected}"
    seen = {(c[1], a) for c in changed for a in c[3]}
    assert seen == MOTO_GAPS, f"moto now stores {MOTO_GAPS - seen}: remove them from MOTO_GAPS"
    assert code == (2 if changed else 0)


def test_edited_sql_changes_only_its_job_and_a_stale_package_is_refused(applied, moto, package):
    work, env = applied
    sql = work / "sql" / "expire_sessions.sql"
    original = sql.read_bytes()
    edited = original + b"-- edited\n"
    try:
        sql.write_bytes(edited)
        _, changes = plan_changes(work, env)
    finally:
        sql.write_bytes(original)
    real = [(c[0], [a for a in c[3] if (c[1], a) not in MOTO_GAPS]) for c in changes if c[2] != ["no-op"]]
    real = [r for r in real if r[1]]
    assert real == [('module.jobs.module.job["expire-sessions"].aws_lambda_function.this[0]', ["environment"])], real

    # Applied without `make build`, the function would carry the new hash and the old file: the
    # runner refuses to run it (configuration error, exit 2) and says to rebuild.
    fn_env = deployed_env(moto.client("lambda"), EXPIRE)
    package_dir = unpack_package(package)
    try:
        result = run_oneshot(str(package_dir / "bootstrap"), {
            **fn_env, **moto.env(), "LAMBDA_TASK_ROOT": str(package_dir),
            "SQL_SHA256": hashlib.sha256(edited).hexdigest(),
        })
    finally:
        shutil.rmtree(package_dir, ignore_errors=True)
    assert result.code == 2 and "rebuild" in result.stderr + result.stdout, result


def test_two_hundred_jobs_plan(applied):
    """A fleet of 200 jobs planned on the applied four-job fleet with the real provider: the
    figures of the module README (resources per job and for the shared layer), and nothing the
    fleet shares grows or changes with its size (the scheduler invokes the functions through one
    name-prefix ARN, the shared layer has no per-job list; IAM's quotas are checked at 300 jobs
    by modules/pg_cron_job_shared/tests). The apply of such a fleet is `make bench-fleet`."""
    work, env = applied
    started = time.monotonic()
    _, changes = plan_changes(work, env, "-var=extra_jobs=196")
    took = time.monotonic() - started
    per_job = {}
    shared = []
    declared = []
    for address, kind, actions, changed in changes:
        if address.startswith("module.jobs.module.shared.aws_ssm_parameter.declared["):
            declared.append((address, kind, actions, changed))
        elif address.startswith("module.jobs.module.shared."):
            shared.append((address, kind, actions, changed))
        elif address.startswith("module.jobs.module.job["):
            key = address.split('"')[1]
            per_job[key] = per_job.get(key, 0) + 1
    assert len(per_job) == 200
    added = [per_job[k] for k in per_job if k.startswith("analyze-")]
    print(f"200 jobs planned in {took:.0f} s: {len(shared)} shared resources; per job {sorted(set(per_job.values()))} "
          f"(purge-events with its secret and built-in rotation: {per_job['purge-events']}, a plain job: {added[0]})")
    # A plain job: function, invoke config, log group, role, policy, schedule, failed and late
    # alarms (8, whatever the schedule; 9 before the watchdog, 8 for the unwatched monthly ones).
    # The secret and its version (2) and the rotation function, its log group, role, policy,
    # invoke permission, the rotation and its error alarm (7) on top.
    assert per_job["purge-events"] == 17, per_job
    assert set(added) == {8} and max(v for k, v in per_job.items() if k != "purge-events") <= 8, per_job
    # The shared layer: 13 as before, the watchdog's function, log group, role, policy and
    # schedule, its three alarms (errors, not running, unjudged), the failures-queue alarm and the
    # dashboard (10), the topic's policy, the recoveries rule and its target (3), the example's S3
    # gateway endpoint and rule (2): 28, and the declared jobs' parameters (200 short names in 4
    # standard parameters of at most 4 KB). What follows the fleet besides them: the dashboard's
    # body, which lists every declared job by name (still one dashboard for 200 jobs).
    assert len(shared) == 28, shared
    grown = [c for c in shared if real_change(c)]
    assert [(a, k, c) for a, k, _, c in grown] == [
        ("module.jobs.module.shared.aws_cloudwatch_dashboard.this[0]", "aws_cloudwatch_dashboard", ["dashboard_body"]),
    ], f"the shared layer changes with the fleet's size beyond its dashboard: {grown}"
    assert not [a for a, *_ in shared if "aws_cloudwatch_dashboard.jobs" in a], "200 jobs fit on the one dashboard"
    assert sorted(a for a, *_ in declared) == [f'module.jobs.module.shared.aws_ssm_parameter.declared["{i:03d}"]' for i in range(4)], declared
    # The four jobs already applied stay as they are (each new job is its own module instance).
    existing = [c for c in changes if c[0].startswith("module.jobs.module.job[")
                and not c[0].split('"')[1].startswith("analyze-") and real_change(c)]
    assert existing == [], f"adding jobs changes the jobs already deployed: {existing}"


# --- The watchdog ---------------------------------------------------------------------------

WATCHDOG = f"{NAME}-watchdog"


def put_run(cw, namespace: str, job: str, started: datetime):
    """What CloudWatch Logs does with the runner's "job finished" line (Embedded Metric Format):
    moto extracts no metrics from logs, so the test puts the line's `Runs` value itself, stamped
    at the run's start as the line's `_aws.Timestamp` is."""
    cw.put_metric_data(Namespace=namespace, MetricData=[{
        "MetricName": "Runs", "Dimensions": [{"Name": "Job", "Value": job}],
        "Timestamp": started, "Value": 1, "Unit": "Count"}])


def test_watchdog_reports_every_job_of_the_fleet(applied, moto, package):
    """The fleet's watchdog, as Lambda runs it (handler `watchdog`, its deployed environment),
    reads the jobs' schedules from the emulated Scheduler and their runs from emulated
    CloudWatch metrics. Right after apply every job is new (no page on the first deploy); a
    preview two days later finds the purge job late exactly for the start that has no run, up
    again once that run is there, and paused when the schedule is disabled in the console. The
    expected start times come from the Python Scheduler evaluator of the import tests, not from
    the Rust evaluator under test."""
    sys.path.insert(0, str(ROOT / "test" / "import"))
    from scheduler import Cron  # noqa: E402  (the import tests' independent evaluator)

    lam, sched, cw = moto.client("lambda"), moto.client("scheduler"), moto.client("cloudwatch")
    cfg = lam.get_function_configuration(FunctionName=WATCHDOG)
    assert cfg["Handler"] == "watchdog" and not cfg.get("VpcConfig", {}).get("SubnetIds"), cfg
    env = deployed_env(lam, WATCHDOG)
    assert env["WATCH_FLEET"] == NAME, env
    namespace = env.get("METRICS_NAMESPACE", "PgCronJob")
    jobs = {n: deployed_env(lam, n)["JOB_NAME"] for n in (PURGE, EXPIRE, VACUUM, EXPORT)}
    package_dir = unpack_package(package)
    api = RuntimeApi()
    try:
        api.start_bootstrap(str(package_dir / "bootstrap"), {**env, **moto.env()}, function_name=WATCHDOG)
        kind, body = api.invoke({})
        assert kind == "response", f"{body}\n{api.logs()}"
        states = {s["job"]: s for s in body["jobs"]}
        assert set(states) == set(jobs.values()), body
        assert {s["state"] for s in states.values()} == {"new"}, body
        assert body["unchecked"] == [] and body["preview"] is False
        # One EMF "job state" line per job, Late = 0: every late alarm starts OK.
        lines = [json.loads(l) for l in api.logs().splitlines() if '"job state"' in l]
        assert sorted(l["Job"] for l in lines) == sorted(jobs.values()), api.logs()
        assert all(l["Late"] == 0 and l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == namespace for l in lines)

        purge = states[jobs[PURGE]]
        since = datetime.fromisoformat(purge["since"].replace("Z", "+00:00"))
        s1, s2 = Cron(purge["expression"]).fire_times(since, ZoneInfo(purge["timezone"]), 2)
        allowance = timedelta(seconds=purge["allowance_seconds"])
        put_run(cw, namespace, jobs[PURGE], s1 + timedelta(seconds=25))
        at = (s2 + allowance + timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
        kind, body = api.invoke({"at": at})
        assert kind == "response", f"{body}\n{api.logs()}"
        purge = {s["job"]: s for s in body["jobs"]}[jobs[PURGE]]
        assert body["preview"] is True
        assert purge["state"] == "late" and purge["missed"] == s2.strftime("%Y-%m-%dT%H:%M:%SZ"), purge
        assert purge["late_seconds"] >= 6 * 60, purge
        # The run of the second start (40 s into its minute): up, the run placed at its start.
        put_run(cw, namespace, jobs[PURGE], s2 + timedelta(seconds=40))
        kind, body = api.invoke({"at": at})
        purge = {s["job"]: s for s in body["jobs"]}[jobs[PURGE]]
        assert purge["state"] == "up" and purge["last_run"] == s2.strftime("%Y-%m-%dT%H:%M:%SZ"), purge
        # A preview publishes nothing: still one state line per job.
        assert len([l for l in api.logs().splitlines() if '"job state"' in l]) == len(jobs)

        # Disabled in the console: paused, whatever is missing.
        group = purge["schedule"].split("/")[0]
        current = sched.get_schedule(GroupName=group, Name=PURGE)
        keep = {k: current[k] for k in ("ScheduleExpression", "FlexibleTimeWindow", "Target") if k in current}
        if current.get("ScheduleExpressionTimezone"):
            keep["ScheduleExpressionTimezone"] = current["ScheduleExpressionTimezone"]
        sched.update_schedule(GroupName=group, Name=PURGE, State="DISABLED", **keep)
        try:
            kind, body = api.invoke({"at": at})
            assert {s["job"]: s for s in body["jobs"]}[jobs[PURGE]]["state"] == "paused", body
        finally:
            sched.update_schedule(GroupName=group, Name=PURGE, State="ENABLED", **keep)

        # Deleted in the console (through the Scheduler API): the job is declared by Terraform
        # (SSM, WATCH_DECLARED_PATH). The next check does not find it (unjudged: an apply that
        # replaces schedules is over within a check); the one after has it `missing`, Late = 1
        # (its late alarm pages), and the other jobs are judged throughout.
        assert env["WATCH_DECLARED_PATH"] == f"/pg-cron-job/{NAME}/declared", env
        vacuum = {s["job"]: s for s in body["jobs"]}[jobs[VACUUM]]
        vgroup = vacuum["schedule"].split("/")[0]
        saved = sched.get_schedule(GroupName=vgroup, Name=VACUUM)
        sched.delete_schedule(GroupName=vgroup, Name=VACUUM)
        try:
            kind, body = api.invoke({})
            assert kind == "response", f"{body}\n{api.logs()}"
            assert [u["job"] for u in body["unjudged"]] == [jobs[VACUUM]], body["unjudged"]
            assert "missing if the next check" in body["unjudged"][0]["why"]
            kind, body = api.invoke({})
            assert kind == "response", f"{body}\n{api.logs()}"
            by_job = {s["job"]: s for s in body["jobs"]}
            assert by_job[jobs[VACUUM]]["state"] == "missing" and body["unjudged"] == [], body
            assert {by_job[j]["state"] for j in jobs.values() if j != jobs[VACUUM]} == {"new"}, body
            late = [json.loads(l) for l in api.logs().splitlines() if '"job state"' in l and jobs[VACUUM] in l]
            assert late[-1]["Late"] == 1, late[-1]
        finally:
            again = {k: saved[k] for k in ("ScheduleExpression", "FlexibleTimeWindow", "Target", "State") if k in saved}
            if saved.get("ScheduleExpressionTimezone"):
                again["ScheduleExpressionTimezone"] = saved["ScheduleExpressionTimezone"]
            sched.create_schedule(GroupName=vgroup, Name=VACUUM, **again)
    finally:
        api.stop()
        shutil.rmtree(package_dir, ignore_errors=True)
