"""The real bootstrap in Lambda mode, driven through a Lambda Runtime API served on loopback
(the Lambda service itself cannot run here), against the real TLS PostgreSQL and moto."""
import json
import time
import uuid

import pytest

from harness import RuntimeApi


@pytest.fixture
def runtime():
    api = RuntimeApi()
    yield api
    api.stop()


def test_success_is_returned_as_the_response(binary, base_env, runtime, pg, secret):
    table = "lm_" + uuid.uuid4().hex[:8]
    pg.psql(f"CREATE TABLE {table} (id int)")
    pg.psql(f"ALTER TABLE {table} OWNER TO {secret['user']}")
    runtime.start_bootstrap(binary, dict(base_env, SQL=f"INSERT INTO {table} SELECT generate_series(1, 3)"))
    kind, body = runtime.invoke({"id": "sched-exec-1", "scheduled_time": "2026-11-25T02:00:00Z"})
    assert kind == "response", body
    assert body["status"] == "succeeded" and body["rows_affected"] == 3
    assert body["event_id"] == "sched-exec-1"
    assert pg.psql(f"SELECT count(*) FROM {table}") == "3"
    assert '"event_id":"sched-exec-1"' in runtime.logs()
    assert secret["password"] not in runtime.logs()


def test_failing_job_is_reported_to_the_runtime_as_an_error(binary, base_env, runtime):
    runtime.start_bootstrap(binary, dict(base_env, SQL="SELECT * FROM no_such_table"))
    kind, body = runtime.invoke({})
    assert kind == "error", body
    assert body["errorType"] == "PgCronJob.sql"
    result = json.loads(body["errorMessage"])
    assert result["status"] == "failed"
    assert result["error"]["code"] == "42P01"
    # The runtime's own error line is one readable line, not a dump of the report's fields.
    runtime_lines = [json.loads(line) for line in runtime.logs().splitlines()
                     if line.startswith("{") and '"level":"ERROR"' in line]
    assert runtime_lines, runtime.logs()
    assert all("Report {" not in line["message"] and "ErrorInfo {" not in line["message"] for line in runtime_lines), runtime_lines
    assert any('failed (sql): ' in line["message"] and "no_such_table" in line["message"] for line in runtime_lines), runtime_lines


def test_configuration_error_fails_every_invocation(binary, base_env, runtime):
    env = dict(base_env, SQL="SELECT 1", PGSSLMODE="bogus")
    runtime.start_bootstrap(binary, env)
    for _ in range(2):
        kind, body = runtime.invoke({})
        assert kind == "error"
        assert "PGSSLMODE" in json.loads(body["errorMessage"])["error"]["message"]


def test_cached_secret_is_refetched_once_after_rotation(binary, base_env, runtime, moto, pg, secret):
    runtime.start_bootstrap(binary, dict(base_env, SQL="SELECT 1"))
    assert runtime.invoke({})[0] == "response"
    new_password = "rotated-" + uuid.uuid4().hex
    pg.psql(f"ALTER ROLE {secret['user']} PASSWORD '{new_password}'")
    moto.client("secretsmanager").put_secret_value(SecretId=secret["id"], SecretString=pg.secret_json(secret["user"], new_password))
    kind, body = runtime.invoke({})
    assert kind == "response", body
    logs = runtime.logs()
    assert "fetching it again" in logs
    assert new_password not in logs and secret["password"] not in logs


def test_statement_timeout_is_bounded_by_the_invocation_deadline(binary, base_env, runtime):
    runtime.start_bootstrap(binary, dict(base_env, SQL="SELECT pg_sleep(60)", DEADLINE_MARGIN_MS="1000"))
    started = time.monotonic()
    kind, body = runtime.invoke({}, timeout_s=4)
    elapsed = time.monotonic() - started
    assert kind == "error", body
    result = json.loads(body["errorMessage"])
    assert result["error"]["code"] == "57014", result
    assert elapsed < 4, f"PostgreSQL must cancel before the deadline, took {elapsed:.1f}s"


def test_a_timeout_within_the_deadline_margin_says_so(binary, base_env, runtime, secret):
    """Lambda's default 3 s timeout against the default 3 s DEADLINE_MARGIN_MS: no time to run.
    The run says that, instead of failing its first call as an unreachable Secrets Manager."""
    runtime.start_bootstrap(binary, dict(base_env, SQL="SELECT 1"))
    kind, body = runtime.invoke({}, timeout_s=3)
    assert kind == "error", body
    result = json.loads(body["errorMessage"])
    assert result["error"]["kind"] == "config", result
    msg = result["error"]["message"]
    assert "DEADLINE_MARGIN_MS (3000 ms" in msg and "raise the function's timeout" in msg, msg
    assert "Secrets Manager" not in msg and result["duration_ms"] < 1000, result
    # With time to run, the same function works.
    kind, body = runtime.invoke({}, timeout_s=10)
    assert kind == "response" and body["status"] == "succeeded", body


def test_run_metrics_are_stamped_at_the_start_scheduler_meant(binary, base_env, runtime):
    """A run that started 11 minutes after its scheduled time (a flexible window, a retry) is
    stamped at the scheduled time, so the watchdog gives it to its own start; a run without one
    (invoked by hand) at its start."""
    from datetime import datetime, timedelta, timezone
    runtime.start_bootstrap(binary, dict(base_env, SQL="SELECT 1"))
    scheduled = (datetime.now(timezone.utc) - timedelta(minutes=11)).replace(second=0, microsecond=0)
    kind, body = runtime.invoke({"id": "exec-late", "scheduled_time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert kind == "response", body
    kind, body = runtime.invoke({"id": "by-hand"})
    assert kind == "response", body
    lines = {l["event_id"]: l for l in map(json.loads, (l for l in runtime.logs().splitlines()
                                                         if '"job finished"' in l))}
    late = lines["exec-late"]
    assert late["_aws"]["Timestamp"] == int(scheduled.timestamp() * 1000), late
    assert late["scheduled_time"] == scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
    stamp = lines["by-hand"]["_aws"]["Timestamp"]
    assert abs(stamp / 1000 - time.time()) < 120 and lines["by-hand"]["scheduled_time"] is None, lines["by-hand"]
