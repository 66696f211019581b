"""Run history, duplicate-delivery safety and batched repeat mode with continuations, on the
real bootstrap (Lambda mode via the loopback Runtime API), real TLS PostgreSQL and moto."""
import json
import pathlib
import uuid

import pytest

from harness import RuntimeApi, run_oneshot


@pytest.fixture
def runtime():
    api = RuntimeApi()
    yield api
    api.stop()


def owned_table(pg, secret, rows: int, old: bool = True) -> str:
    name = "ev_" + uuid.uuid4().hex[:8]
    age = "interval '100 days'" if old else "interval '0 days'"
    pg.psql(f"CREATE TABLE {name} (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL)")
    pg.psql(f"INSERT INTO {name} (created_at) SELECT now() - {age} FROM generate_series(1, {rows})")
    pg.psql(f"ALTER TABLE {name} OWNER TO {secret['user']}")
    return name


def test_history_records_runs_and_a_duplicate_event_does_not_run_twice(binary, base_env, runtime, pg, secret):
    table = owned_table(pg, secret, 10)
    history = "hist_" + uuid.uuid4().hex[:6] + ".runs"
    runtime.start_bootstrap(binary, dict(base_env, SQL=f"DELETE FROM {table} WHERE id <= 3", HISTORY_TABLE=history))
    event = {"id": "exec-" + uuid.uuid4().hex}
    kind, first = runtime.invoke(event)
    assert kind == "response" and first["status"] == "succeeded" and first["rows_affected"] == 3, first
    pg.psql(f"INSERT INTO {table} (id, created_at) VALUES (1, now())")
    kind, second = runtime.invoke(event)
    assert kind == "response" and second["status"] == "skipped" and second["reason"] == "duplicate_event", second
    assert pg.psql(f"SELECT count(*) FROM {table} WHERE id = 1") == "1", "the SQL must not run again"
    rows = pg.psql(f"SELECT status || ':' || coalesce(reason, '') || ':' || coalesce(rows_affected, -1) FROM {history} "
                   f"WHERE event_id = '{event['id']}' ORDER BY started_at")
    assert rows.splitlines() == ["succeeded::3", "skipped:duplicate_event:0"]
    kind, other = runtime.invoke({"id": "exec-" + uuid.uuid4().hex})
    assert other["status"] == "succeeded", "a new event id runs"


def test_interrupted_runs_are_marked_and_old_rows_trimmed(binary, base_env, pg, secret):
    history = "hist_" + uuid.uuid4().hex[:6] + ".runs"
    env = dict(base_env, SQL="SELECT 1", HISTORY_TABLE=history, HISTORY_RETENTION_DAYS="7")
    assert run_oneshot(binary, env).code == 0
    job = env["JOB_NAME"]
    # A run killed mid-way: its row says running but its backend is gone.
    pg.psql(f"INSERT INTO {history} (run_id, job_name, status, backend_pid, backend_start) VALUES ('dead', '{job}', 'running', 999999, now())")
    pg.psql(f"INSERT INTO {history} (run_id, job_name, status, started_at) VALUES ('ancient', '{job}', 'succeeded', now() - interval '8 days')")
    assert run_oneshot(binary, env).code == 0
    assert pg.psql(f"SELECT status FROM {history} WHERE run_id = 'dead'") == "interrupted"
    assert pg.psql(f"SELECT count(*) FROM {history} WHERE run_id = 'ancient'") == "0"


def test_a_terminated_backend_leaves_its_real_error_in_history(binary, base_env, pg, secret, tmp_path):
    """The backend is terminated at statement 2 (an operator's pg_terminate_backend, a failover):
    the run fails with 57P01 and its history row says so, recorded from a new session, instead
    of staying `running` until the next run calls it interrupted."""
    history = "hist_" + uuid.uuid4().hex[:6] + ".runs"
    script = tmp_path / "terminated.sql"
    script.write_text("SELECT 1;\nSELECT pg_terminate_backend(pg_backend_pid());\nSELECT 3;\n")
    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script), HISTORY_TABLE=history))
    assert r.code == 1 and r.report["error"]["code"] == "57P01", r
    row = pg.psql(f"SELECT status || ':' || error_code || ':' || statements FROM {history} WHERE run_id = '{r.report['run_id']}'")
    assert row == "failed:57P01:" + str(r.report["statements"]), row
    assert not r.report.get("warnings"), r.report


def test_repeat_until_zero_purges_in_batches(binary, base_env, pg, secret):
    table = owned_table(pg, secret, 2500)
    sql = f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE created_at < now() - interval '90 days' LIMIT 1000)"
    r = run_oneshot(binary, dict(base_env, SQL=sql, REPEAT_UNTIL_ZERO="true"))
    assert r.code == 0, r
    assert r.report["status"] == "succeeded" and r.report["rows_affected"] == 2500
    assert r.report["batches"] == 4  # 1000 + 1000 + 500 + the empty batch that proves it is done
    assert pg.psql(f"SELECT count(*) FROM {table}") == "0"


def test_deadline_stops_batches_and_requests_a_continuation(binary, base_env, runtime, moto, pg, secret):
    table = owned_table(pg, secret, 100_000)
    history = "hist_" + uuid.uuid4().hex[:6] + ".runs"
    sql = f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE created_at < now() - interval '90 days' LIMIT 10)"
    fn_name = "pgcj-cont-" + uuid.uuid4().hex[:6]
    # The function the continuation invokes must exist on the AWS API server (moto stores it;
    # it cannot execute it, so the invocation itself is what we observe).
    iam = moto.client("iam")
    role = iam.create_role(RoleName=fn_name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    moto.client("lambda").create_function(FunctionName=fn_name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                                          Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    env = dict(base_env, SQL=sql, REPEAT_UNTIL_ZERO="true", CONTINUE_ON_DEADLINE="true", HISTORY_TABLE=history,
               MAX_RUNTIME_MS="1000")
    runtime.start_bootstrap(binary, env, function_name=fn_name)
    kind, body = runtime.invoke({"id": "purge-1"}, timeout_s=60)
    assert kind == "response", body
    assert body["status"] == "partial" and body["reason"] == "deadline", body
    assert body["batches"] >= 2 and body["rows_affected"] == body["batches"] * 10
    assert body["continuation_requested"] is True
    remaining = int(pg.psql(f"SELECT count(*) FROM {table}"))
    assert remaining == 100_000 - body["rows_affected"] and remaining > 0
    assert "requested a continuation" in runtime.logs()
    moto_log = pathlib.Path(moto.log.name).read_text()
    assert f'function:{fn_name}/invocations HTTP/1.1" 202' in moto_log, "the self-invoke must reach the AWS API server"
    assert pg.psql(f"SELECT continuation_pending FROM {history} WHERE event_id = 'purge-1'") == "t"

    # A scheduled run while the continuation is pending stays off the table.
    kind, sched = runtime.invoke({"id": "purge-2"}, timeout_s=60)
    assert sched["status"] == "skipped" and sched["reason"] == "continuation_in_progress", sched

    # The continuation (the payload the runner sent) takes over and carries on.
    kind, cont = runtime.invoke({"id": "purge-1", "pg_cron_job_continuation": {
        "continuation": 1, "chain_id": body["run_id"], "previous_run_id": body["run_id"]}}, timeout_s=60)
    assert cont["status"] == "partial" and cont["continuation"] == 1 and cont["rows_affected"] > 0, cont
    assert int(pg.psql(f"SELECT count(*) FROM {table}")) == remaining - cont["rows_affected"]
