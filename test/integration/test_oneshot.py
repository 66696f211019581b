"""The real runner binary in one-shot mode against a real TLS PostgreSQL 15 and a real AWS API
server (moto) holding the secret. Every test also checks that no password leaks."""
import json
import os
import subprocess
import threading
import time
import uuid

import pytest

from harness import run_oneshot


def assert_no_secret(result, *secrets):
    for s in secrets:
        assert s not in result.stdout, f"secret leaked to stdout: {result}"
        assert s not in result.stderr, f"secret leaked to stderr: {result}"


@pytest.fixture
def table(pg, secret):
    name = "t_" + uuid.uuid4().hex[:8]
    pg.psql(f"CREATE TABLE {name} (id int PRIMARY KEY, note text, created_at timestamptz DEFAULT now())")
    pg.psql(f"ALTER TABLE {name} OWNER TO {secret['user']}")
    return name


def test_inline_statement_changes_the_database(binary, base_env, pg, table, secret):
    pg.psql(f"INSERT INTO {table} (id, created_at) SELECT g, now() - interval '100 days' FROM generate_series(1, 7) g")
    pg.psql(f"INSERT INTO {table} (id) VALUES (100)")
    env = dict(base_env, SQL=f"DELETE FROM {table} WHERE created_at < now() - interval '90 days'")
    r = run_oneshot(binary, env)
    assert r.code == 0, r
    rep = r.report
    assert rep["status"] == "succeeded"
    assert rep["job"] == env["JOB_NAME"]
    assert rep["statements"] == 1 and rep["statements_total"] == 1
    assert rep["rows_affected"] == 7
    assert rep["duration_ms"] >= 0 and rep["started_at"] <= rep["finished_at"]
    assert pg.psql(f"SELECT count(*) FROM {table}") == "1"
    assert_no_secret(r, secret["password"])
    assert '"message":"connected"' in r.stderr and '"sslmode":"verify-full"' in r.stderr


def test_multi_statement_file_runs_in_order(binary, base_env, pg, table, secret, tmp_path):
    script = tmp_path / "job.sql"
    script.write_text(f"""
-- nightly maintenance; semicolons in comments do not split;
INSERT INTO {table} (id, note) VALUES (1, 'a;b'), (2, $$it's; fine$$);
CREATE OR REPLACE FUNCTION {table}_bump() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE {table} SET note = note || ';x';
END;
$fn$;
SELECT {table}_bump();
/* block; comment */
UPDATE {table} SET id = id + 10 WHERE note LIKE '%;x';
""")
    env = dict(base_env, SQL_FILE=str(script))
    r = run_oneshot(binary, env)
    assert r.code == 0, r
    assert r.report["statements"] == 4
    assert [s["rows"] for s in r.report["steps"]] == [2, 0, 1, 2]
    assert r.report["rows_affected"] == 5
    assert pg.psql(f"SELECT string_agg(id || '=' || note, ',' ORDER BY id) FROM {table}") == "11=a;b;x,12=it's; fine;x"


def test_sql_file_relative_to_task_root(binary, base_env, pg, table, tmp_path):
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "purge.sql").write_text(f"INSERT INTO {table} (id) VALUES (5);")
    r = run_oneshot(binary, dict(base_env, SQL_FILE="sql/purge.sql", LAMBDA_TASK_ROOT=str(tmp_path)))
    assert r.code == 0, r
    assert pg.psql(f"SELECT count(*) FROM {table} WHERE id = 5") == "1"


def test_transaction_rolls_back_every_statement_on_error(binary, base_env, pg, table, tmp_path):
    script = tmp_path / "tx.sql"
    script.write_text(f"INSERT INTO {table} (id) VALUES (1);\nINSERT INTO {table} (id) VALUES (1);\n")
    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script), TRANSACTION="true"))
    assert r.code == 1, r
    rep = r.report
    assert rep["status"] == "failed" and rep["rolled_back"] is True
    assert rep["rows_affected"] == 0
    assert rep["error"]["kind"] == "sql" and rep["error"]["code"] == "23505" and rep["error"]["statement"] == 2
    assert pg.psql(f"SELECT count(*) FROM {table}") == "0", "first statement's effect must be rolled back"

    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script)))
    assert r.code == 1 and r.report["statements"] == 1 and "rolled_back" not in r.report, r
    assert pg.psql(f"SELECT count(*) FROM {table}") == "1", "autocommit keeps the first statement"


def test_a_script_ending_inside_its_own_transaction_block_is_not_reported_as_done(binary, base_env, pg, table, tmp_path):
    """BEGIN without COMMIT: psql exits and the server rolls the block back. The run says so
    (failed, at the BEGIN's line), counts none of the block's rows, and its history row and lock
    release are not swallowed by the block (ReadyForQuery's transaction status, read by the
    runner's session reader)."""
    script = tmp_path / "open.sql"
    script.write_text(f"INSERT INTO {table} (id) VALUES (1);\nBEGIN;\nINSERT INTO {table} (id) VALUES (2), (3);\nUPDATE {table} SET note = 'x';\n")
    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script)))
    assert r.code == 1, r
    rep = r.report
    assert rep["status"] == "failed" and rep["error"]["line"] == 2, rep
    assert "ended inside the transaction block that began at line 2" in rep["error"]["message"], rep
    assert "3 statements (5 rows)" in rep["error"]["message"], rep
    assert rep["rows_affected"] == 1, "only the autocommitted INSERT is done"
    assert pg.psql(f"SELECT count(*) FROM {table}") == "1"


def test_rows_of_a_rolled_back_block_are_not_counted(binary, base_env, pg, table, tmp_path):
    script = tmp_path / "blocks.sql"
    script.write_text(
        f"BEGIN;\nINSERT INTO {table} (id) VALUES (1), (2);\nROLLBACK;\n"
        f"BEGIN;\nINSERT INTO {table} (id) VALUES (3);\nCOMMIT;\n"
        f"INSERT INTO {table} (id) VALUES (4);\n")
    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script)))
    assert r.code == 0 and r.report["status"] == "succeeded", r
    assert r.report["rows_affected"] == 2, r.report
    assert pg.psql(f"SELECT string_agg(id::text, ',' ORDER BY id) FROM {table}") == "3,4"

    # A failed block ends in ROLLBACK whatever ends it (COMMIT is answered with ROLLBACK).
    script.write_text(
        f"\\set ON_ERROR_STOP off\nBEGIN;\nINSERT INTO {table} (id) VALUES (5);\n"
        f"INSERT INTO {table} (id) VALUES (3);\nCOMMIT;\n")
    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script)))
    assert r.report["rows_affected"] == 0, r.report
    assert pg.psql(f"SELECT count(*) FROM {table}") == "2"


def test_server_notices_are_logged_and_the_last_ones_reported(binary, base_env, tmp_path):
    """A batch purge's RAISE NOTICE is psql's only progress output: each notice is a JSON log line
    with its statement, the result has the count and the last few; a flood is bounded (1,000
    lines, the rest counted and said once)."""
    script = tmp_path / "notices.sql"
    script.write_text(
        "SELECT 1;\n"
        "DO $$ BEGIN FOR i IN 1..3 LOOP RAISE NOTICE 'Deleted % rows in this batch', i * 100; END LOOP;\n"
        "RAISE WARNING 'slow batch'; END $$;\n")
    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script)))
    assert r.code == 0, r
    notices = r.report["notices"]
    assert notices["count"] == 4 and notices["logged"] == 4, notices
    assert [n["message"] for n in notices["last"]] == ["Deleted 100 rows in this batch", "Deleted 200 rows in this batch", "Deleted 300 rows in this batch", "slow batch"]
    assert {(n["severity"], n["statement"]) for n in notices["last"]} == {("NOTICE", 2), ("WARNING", 2)}
    lines = [json.loads(l) for l in r.stderr.splitlines() if l.startswith("{") and '"server notice"' in l]
    assert [(l["level"], l["notice"], l["statement"]) for l in lines][-2:] == [("INFO", "Deleted 300 rows in this batch", 2), ("WARN", "slow batch", 2)], lines

    r = run_oneshot(binary, dict(base_env, SQL="DO $$ BEGIN FOR i IN 1..2500 LOOP RAISE NOTICE 'batch %', i; END LOOP; END $$"))
    assert r.code == 0, r
    assert (r.report["notices"]["count"], r.report["notices"]["logged"]) == (2500, 1000), r.report["notices"]
    assert r.report["notices"]["last"][-1]["message"] == "batch 2500"
    assert r.stderr.count('"server notice"') == 1000 and r.stderr.count("further server notices") == 1


def test_vacuum_runs_in_autocommit_mode(binary, base_env, table):
    r = run_oneshot(binary, dict(base_env, SQL=f"VACUUM (ANALYZE) {table}"))
    assert r.code == 0, r
    assert r.report["status"] == "succeeded"


def test_wrong_password_fails_without_leaking_it(binary, base_env, moto, pg, secret):
    wrong = "wrong-" + uuid.uuid4().hex
    moto.client("secretsmanager").put_secret_value(SecretId=secret["id"], SecretString=pg.secret_json(secret["user"], wrong))
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1"))
    assert r.code == 1, r
    assert r.report["status"] == "failed"
    assert r.report["error"]["kind"] == "auth" and r.report["error"]["code"] == "28P01"
    assert_no_secret(r, wrong, secret["password"])


def test_rotated_secret_is_picked_up_by_the_next_run(binary, base_env, moto, pg, secret):
    assert run_oneshot(binary, dict(base_env, SQL="SELECT 1")).code == 0
    new_password = "rotated-" + uuid.uuid4().hex
    pg.psql(f"ALTER ROLE {secret['user']} PASSWORD '{new_password}'")
    moto.client("secretsmanager").put_secret_value(SecretId=secret["id"], SecretString=pg.secret_json(secret["user"], new_password))
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1"))
    assert r.code == 0, r
    assert_no_secret(r, new_password, secret["password"])


def test_verify_full_rejects_a_certificate_for_another_host_name(binary, base_env, moto, pg, secret):
    # The server certificate names 127.0.0.1 only; "localhost" reaches the same server.
    moto.client("secretsmanager").put_secret_value(
        SecretId=secret["id"], SecretString=pg.secret_json(secret["user"], secret["password"], host="localhost"))
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1"))
    assert r.code == 1, r
    err = r.report["error"]
    assert err["kind"] == "tls"
    assert 'does not match host name "localhost"' in err["message"], err
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", PGSSLMODE="verify-ca"))
    assert r.code == 0, f"verify-ca checks the chain only: {r}"


def test_unknown_ca_is_rejected(binary, base_env, pg):
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", PGSSLROOTCERT=str(pg.other_ca.path)))
    assert r.code == 1, r
    err = r.report["error"]
    assert err["kind"] == "tls" and "unknown CA" in err["message"], err
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", PGSSLMODE="require", PGSSLROOTCERT=str(pg.other_ca.path)))
    assert r.code == 0, f"require encrypts without checks: {r}"


def test_statement_timeout_cancels_the_query(binary, base_env):
    started = time.monotonic()
    r = run_oneshot(binary, dict(base_env, SQL="SELECT pg_sleep(20)", STATEMENT_TIMEOUT_MS="300"))
    assert time.monotonic() - started < 15
    assert r.code == 1, r
    assert r.report["error"]["kind"] == "timeout" and r.report["error"]["code"] == "57014"


def test_max_runtime_bounds_the_statement_timeout(binary, base_env):
    started = time.monotonic()
    r = run_oneshot(binary, dict(base_env, SQL="SELECT pg_sleep(20)", MAX_RUNTIME_MS="1500"))
    assert time.monotonic() - started < 15
    assert r.report["error"]["code"] == "57014", r


def test_overlapping_run_is_skipped(binary, base_env, pg):
    env = dict(base_env, SQL="SELECT pg_sleep(4)")
    first = {}
    t = threading.Thread(target=lambda: first.update(r=run_oneshot(binary, env)))
    t.start()
    job = env["JOB_NAME"]
    # Readiness: wait until the first run's session is in pg_sleep.
    from harness import wait_for
    wait_for(lambda: pg.psql(f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{job}' AND query LIKE 'SELECT pg_sleep%'") == "1",
             "first run in progress")
    second = run_oneshot(binary, dict(env, SQL="SELECT 1"))
    t.join()
    assert second.code == 0, second
    assert second.report["status"] == "skipped" and second.report["reason"] == "overlap"
    assert second.report["statements"] == 0
    assert first["r"].report["status"] == "succeeded"
    third = run_oneshot(binary, dict(env, SQL="SELECT 1"))
    assert third.report["status"] == "succeeded", "the lock is released after the run"
    overlap = run_oneshot(binary, dict(env, SQL="SELECT 1", ALLOW_OVERLAP="true"))
    assert overlap.report["status"] == "succeeded"


def test_missing_secret_id_is_a_configuration_error(binary, base_env):
    env = dict(base_env, SQL="SELECT 1")
    del env["DB_SECRET_ID"]
    r = run_oneshot(binary, env)
    assert r.code == 2, r
    assert "DB_SECRET_ID is required" in r.stderr
    assert r.report["error"]["kind"] == "config"


@pytest.mark.parametrize("bad,needle", [
    ({"PGSSLMODE": "prefer"}, "PGSSLMODE"),
    ({"SQL_FILE": "x.sql"}, "SQL and SQL_FILE are both set"),
    ({"STATEMENT_TIMEOUT": "5"}, "did you mean STATEMENT_TIMEOUT_MS"),
    ({"PGPASSWORD": "x"}, "PGPASSWORD is not supported"),
    # The contract's ranges (lambda/functions/src/contract.rs), the same that terraform plan enforces.
    ({"STATEMENT_TIMEOUT_MS": "3000000000"}, "STATEMENT_TIMEOUT_MS has an invalid value \"3000000000\": expected a whole number of milliseconds from 1 to 2147483647"),
    ({"MAX_CONTINUATIONS": "1001"}, "MAX_CONTINUATIONS has an invalid value \"1001\": expected a whole number from 0 to 1000"),
    # The rotation program's variable on a job: the handler picks the program, not the variable.
    ({"ROTATION_STRATEGY": "single-user"}, "ROTATION_STRATEGY is not supported by pg-cron-job: it configures the `rotation` program, but this function's handler is `job`"),
])
def test_bad_configuration_names_the_variable(binary, base_env, bad, needle):
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", **bad))
    assert r.code == 2, r
    assert needle in r.stderr


def test_the_handler_picks_the_program(binary, base_env):
    """`_HANDLER` (the function's handler setting) chooses the program; an unknown one is refused
    before anything runs, naming the valid handlers."""
    job = run_oneshot(binary, dict(base_env, SQL="SELECT 1", _HANDLER="job"))
    assert job.code == 0 and job.report["status"] == "succeeded", job
    old = run_oneshot(binary, dict(base_env, SQL="SELECT 1", _HANDLER="bootstrap"))
    assert old.code == 2, old
    assert 'the function\'s handler is "bootstrap"' in old.stderr and "`rotation`" in old.stderr, old
    rotation = run_oneshot(binary, dict(base_env, _HANDLER="rotation", ROTATION_STRATEGY="single-user"))
    assert rotation.code == 2, rotation
    assert "it configures the `job` program, but this function's handler is `rotation`" in rotation.stderr, rotation


def test_malformed_secret_names_the_missing_field(binary, base_env, moto, secret):
    moto.client("secretsmanager").put_secret_value(
        SecretId=secret["id"], SecretString='{"username": "%s", "host": "127.0.0.1"}' % secret["user"])
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1"))
    assert r.code == 1, r
    assert r.report["error"]["kind"] == "secret"
    assert "missing field `password`" in r.report["error"]["message"]


def test_missing_secret_is_a_clear_failure(binary, base_env):
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", DB_SECRET_ID="does-not-exist"))
    assert r.code == 1, r
    assert r.report["error"]["kind"] == "secret"
    assert "does-not-exist" in r.report["error"]["message"]


DISCONNECT_NOISE = ("could not receive data from client", "unexpected EOF on client connection")


def test_runs_say_goodbye_to_the_server(binary, base_env, pg):
    """A run ends its session with a Terminate message, as psql does: the server logs no
    "connection reset" for it (on RDS that line would land in the DBA's log for every run)."""
    def noise():
        return sum(pg.log_text.count(n) for n in DISCONNECT_NOISE)

    before = noise()
    for sql in ["SELECT 1", "SELECT * FROM no_such_table"]:
        r = run_oneshot(binary, dict(base_env, SQL=sql))
        assert r.code in (0, 1), r
    time.sleep(0.5)  # the server writes its log asynchronously
    assert noise() == before, pg.log_text[-2000:]


def job_finished_lines(stderr):
    return [json.loads(line) for line in stderr.splitlines() if '"job finished"' in line]


@pytest.mark.parametrize("case", ["succeeded", "failed_sql", "failed_secret", "failed_config"])
def test_every_run_writes_one_job_finished_line_with_its_metrics(binary, base_env, case):
    """Every run, whatever phase it ends in, writes one "job finished" line that is an Embedded
    Metric Format document (namespace PgCronJob, dimension Job): the run metrics CloudWatch Logs
    extracts, timestamped with the run's start."""
    env = dict(base_env, SQL="SELECT 1")
    if case == "failed_sql":
        env["SQL"] = "SELECT * FROM no_such_table"
    elif case == "failed_secret":
        env["DB_SECRET_ID"] = "does-not-exist"
    elif case == "failed_config":
        env["STATEMENT_TIMEOUT_MS"] = "0"
    before = time.time()
    r = run_oneshot(binary, env)
    lines = job_finished_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    line = lines[0]
    emf = line["_aws"]["CloudWatchMetrics"][0]
    assert emf["Namespace"] == "PgCronJob" and emf["Dimensions"] == [["Job"]]
    names = {m["Name"] for m in emf["Metrics"]}
    assert names == {"Runs", "Succeeded", "Failed", "Skipped", "Partial", "DurationMs", "RowsAffected"}
    assert all(isinstance(line[n], int) for n in names), line
    assert line["Job"] == env["JOB_NAME"] and line["Runs"] == 1
    succeeded = case == "succeeded"
    assert (line["Succeeded"], line["Failed"]) == ((1, 0) if succeeded else (0, 1)), line
    assert line["status"] == r.report["status"]
    assert before - 1 <= line["_aws"]["Timestamp"] / 1000 <= time.time() + 1
    if not succeeded:
        assert line["error_kind"] == r.report["error"]["kind"], line


def test_event_argument_id_is_reported(binary, base_env):
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1"), '{"id": "manual-42", "sql": "DROP TABLE x"}')
    assert r.code == 0, r
    assert r.report["event_id"] == "manual-42"
    assert "cannot change what runs" in r.stderr


def test_start_up_files_are_read_with_a_bound(binary, base_env, tmp_path):
    """SQL_FILE and PGSSLROOTCERT must be regular files of bounded size: /dev/zero, a FIFO (which
    would block) or a directory end at once with exit 2, naming the variable and the file."""
    fifo = tmp_path / "script.fifo"
    os.mkfifo(fifo)
    for var, path in [("SQL_FILE", "/dev/zero"), ("SQL_FILE", str(fifo)), ("SQL_FILE", str(tmp_path)),
                      ("PGSSLROOTCERT", "/dev/zero")]:
        env = dict(base_env, **{var: path})
        if var == "PGSSLROOTCERT":
            env["SQL"] = "SELECT 1"
            env.pop("SQL_FILE", None)
        else:
            env.pop("SQL", None)
        started = time.monotonic()
        r = run_oneshot(binary, env, timeout=20)
        assert r.code == 2, (var, path, r)
        assert path in r.stderr and "not a regular file" in r.stderr, (var, path, r)
        assert time.monotonic() - started < 5
