"""Fault matrix: the real runner (one-shot mode) against faults injected on loopback. Every
faulty case must end in a JSON result within its bound, name the phase that failed, and never
leak the password. The stalling server is a real TCP listener that accepts and never answers
(a stalled proxy/NLB, or a wrong port on a live host)."""
import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from harness import PostgresCluster, RunResult, run_oneshot, wait_for


class StallServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except OSError:
                continue

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        for c in self.accepted:
            c.close()
        self.sock.close()


@pytest.fixture
def stall():
    server = StallServer()
    yield server
    server.stop()


def timed(binary, env, timeout=60):
    started = time.monotonic()
    r = run_oneshot(binary, env, timeout=timeout)
    return r, time.monotonic() - started


def assert_clean(r, *secrets):
    assert r.report is not None, r
    for s in secrets:
        assert s not in r.stdout and s not in r.stderr, f"secret leaked: {r}"
    assert "DispatchFailure(" not in r.stdout and "ConnectorError {" not in r.stdout, r


@pytest.mark.parametrize("sslmode", ["verify-full", "require", "disable"])
def test_database_that_never_answers_fails_within_the_connect_timeout(binary, base_env, secret, stall, sslmode):
    env = dict(base_env, PGHOST="127.0.0.1", PGPORT=str(stall.port), PGSSLMODE=sslmode,
               PGCONNECT_TIMEOUT="2", SQL="SELECT 1")
    if sslmode != "verify-full":
        env.pop("PGSSLROOTCERT")
    r, took = timed(binary, env)
    assert r.code == 1, r
    assert took < 4, f"took {took:.1f}s"
    assert r.report["status"] == "failed" and r.report["error"]["kind"] == "connect", r
    assert "no answer" in r.report["error"]["message"] and "PGCONNECT_TIMEOUT" in r.report["error"]["message"]
    assert stall.accepted, "the runner never reached the stalling server"
    assert_clean(r, secret["password"])


def test_connect_is_cut_short_by_max_runtime(binary, base_env, secret, stall):
    env = dict(base_env, PGHOST="127.0.0.1", PGPORT=str(stall.port), MAX_RUNTIME_MS="1500", SQL="SELECT 1")
    r, took = timed(binary, env)
    assert r.code == 1 and r.report["error"]["kind"] == "connect", r
    assert took < 3.5, f"took {took:.1f}s"
    assert "deadline" in r.report["error"]["message"]


def test_secrets_manager_that_never_answers_fails_within_the_deadline(binary, base_env, secret, stall):
    env = dict(base_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{stall.port}", MAX_RUNTIME_MS="3000", SQL="SELECT 1")
    r, took = timed(binary, env)
    assert r.code == 1, r
    assert took < 5, f"took {took:.1f}s"
    assert r.report["error"]["kind"] == "secret", r
    msg = r.report["error"]["message"]
    assert "Secrets Manager" in msg and ("endpoint" in msg or "NAT" in msg), msg
    assert_clean(r, secret["password"])


def test_secrets_manager_that_never_answers_is_bounded_without_a_deadline(binary, base_env, stall):
    """No MAX_RUNTIME_MS: the SDK's own timeouts and retry budget end the call."""
    env = dict(base_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{stall.port}", SQL="SELECT 1")
    r, took = timed(binary, env)
    assert r.code == 1 and r.report["error"]["kind"] == "secret", r
    assert took < 25, f"took {took:.1f}s"
    assert r.report["started_at"] < r.report["finished_at"], "started_at must be the start, not the failure time"


def test_unreachable_secrets_manager_is_explained_without_debug_dumps(binary, base_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    env = dict(base_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port}", SQL="SELECT 1")
    r, took = timed(binary, env)
    assert r.code == 1 and r.report["error"]["kind"] == "secret", r
    msg = r.report["error"]["message"]
    assert msg.startswith("cannot read secret") and "cannot reach Secrets Manager" in msg, msg
    assert "{" not in msg, f"Debug dump in the message: {msg}"
    assert took < 20


class CannedAwsServer:
    """An HTTP server on 127.0.0.1 that answers every request with one canned response (an AWS
    error, a throttle, a proxy's HTML page), counting the requests."""

    def __init__(self, status: int, body: str, content_type: str = "application/x-amz-json-1.1"):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        server = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                server.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("status,body,content_type,needle", [
    (500, '{"__type":"InternalServiceError","message":"boom"}', "application/x-amz-json-1.1", "a failure on Secrets Manager's side"),
    (400, '{"__type":"ThrottlingException","message":"Rate exceeded"}', "application/x-amz-json-1.1", "limiting this account's request rate"),
    (200, "<html><body>Please log in to the proxy</body></html>", "text/html", "cannot be read"),
])
def test_secrets_manager_failures_that_are_not_permissions_get_no_iam_hint(binary, base_env, status, body, content_type, needle):
    """Only an access-denied answer says what the role needs; a 5xx, throttling or a proxy's
    page says what really happened."""
    server = CannedAwsServer(status, body, content_type)
    try:
        r, took = timed(binary, dict(base_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{server.port}", SQL="SELECT 1"))
    finally:
        server.stop()
    assert r.code == 1 and r.report["error"]["kind"] == "secret", r
    msg = r.report["error"]["message"]
    assert needle in msg, msg
    assert "role needs" not in msg and "needs secretsmanager" not in msg, msg
    assert took < 30
    # The "job finished" line is written for a secret-phase failure too.
    assert '"job finished"' in r.stderr, r.stderr


def test_an_endless_secrets_manager_body_is_cut_off(binary, base_env):
    """Something posing as Secrets Manager answers 200 with a chunked body that never ends: the
    call stops at 256 kB (a secret is at most 64 KB) and the run fails at once, memory bounded."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                head = b'{"SecretString":"'
                self.wfile.write(b"%x\r\n" % len(head) + head + b"\r\n")
                while not stop.is_set():
                    self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError:
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        env = dict(base_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{httpd.server_address[1]}", SQL="SELECT 1")
        started = time.monotonic()
        proc, rss_kb = run_measured(binary, env, timeout=60)
        took = time.monotonic() - started
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
    r = RunResult(proc)
    assert r.code == 1 and r.report["error"]["kind"] == "secret", r
    assert "larger than 262144 bytes" in r.report["error"]["message"], r.report["error"]["message"]
    assert rss_kb < 48 * 1024 and took < 20, (rss_kb, took)


def test_secret_that_is_json_but_not_an_object(binary, base_env, moto, secret):
    moto.client("secretsmanager").put_secret_value(SecretId=secret["id"], SecretString='["x"]')
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1"))
    assert r.code == 1 and "not an object" in r.report["error"]["message"], r


def test_many_rows_are_counted_not_kept(binary, base_env):
    r = run_oneshot(binary, dict(base_env, SQL="SELECT g, repeat('x', 100) FROM generate_series(1, 300000) g"))
    assert r.code == 0, r
    assert r.report["rows_affected"] == 300000


def test_copy_to_stdout_is_refused_before_anything_runs(binary, base_env, tmp_path):
    script = tmp_path / "export.sql"
    script.write_text("SELECT 1;\nCOPY (SELECT 1) TO STDOUT WITH (FORMAT csv);\n")
    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script)))
    assert r.code == 2, r
    assert r.report["error"]["kind"] == "config"
    assert f"SQL_FILE {script} line 2: COPY" in r.report["error"]["message"]


def test_unsupported_meta_command_is_refused_with_file_and_line(binary, base_env, tmp_path):
    script = tmp_path / "job.sql"
    script.write_text("\\set ON_ERROR_STOP on\nSELECT 1;\nSELECT now() AS t \\gset\n")
    r = run_oneshot(binary, dict(base_env, SQL_FILE=str(script)))
    assert r.code == 2 and r.report["error"]["kind"] == "config", r
    assert "line 3" in r.report["error"]["message"] and "\\gset" in r.report["error"]["message"]


@pytest.mark.parametrize("var", ["STATEMENT_TIMEOUT_MS", "MAX_RUNTIME_MS"])
def test_values_postgresql_refuses_are_config_errors(binary, base_env, var):
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", **{var: "2147483648"}))
    assert r.code == 2 and var in r.report["error"]["message"], r


# --- history under concurrency and faults -----------------------------------------------------

def history_table():
    return "faults.runs_" + uuid.uuid4().hex[:8]


def test_twenty_jobs_create_the_history_table_at_once(binary, base_env, pg, secret):
    pg.psql("CREATE SCHEMA IF NOT EXISTS faults")
    pg.psql(f"GRANT ALL ON SCHEMA faults TO {secret['user']}")
    table = history_table()
    envs = [dict(base_env, JOB_NAME=f"job{i}", SQL="SELECT 1", HISTORY_TABLE=table) for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda e: run_oneshot(binary, e), envs))
    assert [r.report["status"] for r in results] == ["succeeded"] * 20, [r for r in results if r.code]
    assert pg.psql(f"SELECT count(*) FROM {table} WHERE status = 'succeeded'") == "20"


def test_twenty_concurrent_runs_of_one_job(binary, base_env, pg, secret):
    pg.psql("CREATE SCHEMA IF NOT EXISTS faults")
    pg.psql(f"GRANT ALL ON SCHEMA faults TO {secret['user']}")
    table = history_table()
    env = dict(base_env, SQL="SELECT pg_sleep(3)", HISTORY_TABLE=table)
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: run_oneshot(binary, env), range(20)))
    statuses = sorted(r.report["status"] for r in results)
    failed = [r.report for r in results if r.report["status"] not in ("skipped", "succeeded")]
    assert statuses == ["skipped"] * 19 + ["succeeded"], (statuses, failed)
    assert all(r.code == 0 for r in results)
    assert {r.report.get("reason") for r in results if r.report["status"] == "skipped"} == {"overlap"}
    rows = pg.psql(f"SELECT status || ':' || coalesce(reason, '') FROM {table} ORDER BY 1").split("\n")
    assert sorted(rows) == ["skipped:overlap"] * 19 + ["succeeded:"], rows


def test_bookkeeping_error_after_commit_is_a_warning_not_a_failure(binary, base_env, pg, secret):
    pg.psql("CREATE SCHEMA IF NOT EXISTS faults")
    pg.psql(f"GRANT ALL ON SCHEMA faults TO {secret['user']}")
    table = history_table()
    target = "t_" + uuid.uuid4().hex[:8]
    pg.psql(f"CREATE TABLE {target} (id int)")
    pg.psql(f"ALTER TABLE {target} OWNER TO {secret['user']}")
    env = dict(base_env, SQL=f"INSERT INTO {target} VALUES (1)", HISTORY_TABLE=table)
    assert run_oneshot(binary, env).code == 0
    # From now on the final history UPDATE fails (as a full disk or a revoked grant would).
    pg.psql(f"""CREATE FUNCTION {table}_deny() RETURNS trigger LANGUAGE plpgsql AS
                $$BEGIN RAISE EXCEPTION 'history is read-only today'; END$$""")
    pg.psql(f"CREATE TRIGGER deny BEFORE UPDATE ON {table} FOR EACH ROW WHEN (NEW.status <> 'interrupted') "
            f"EXECUTE FUNCTION {table}_deny()")
    r = run_oneshot(binary, env)
    assert r.code == 0, r
    assert r.report["status"] == "succeeded" and "error" not in r.report
    assert any("read-only today" in w for w in r.report["warnings"]), r.report
    assert pg.psql(f"SELECT count(*) FROM {target}") == "2", "the job's SQL must have committed"


def test_killed_runner_is_marked_interrupted_and_does_not_block_the_next_run(binary, base_env, pg, secret):
    pg.psql("CREATE SCHEMA IF NOT EXISTS faults")
    pg.psql(f"GRANT ALL ON SCHEMA faults TO {secret['user']}")
    table = history_table()
    env = dict(base_env, SQL="SELECT pg_sleep(60)", HISTORY_TABLE=table)
    proc = subprocess.Popen([binary], env={"PATH": os.environ["PATH"], **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'") == "1",
                 "the job's statement to start", timeout=20)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    # client_connection_check_interval: the orphaned statement ends within seconds, not 60 s.
    killed = time.monotonic()
    wait_for(lambda: pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'") == "0",
             "the orphaned backend to end", timeout=10)
    assert time.monotonic() - killed < 6
    r = run_oneshot(binary, dict(env, SQL="SELECT 1"))
    assert r.code == 0 and r.report["status"] == "succeeded", r
    rows = pg.psql(f"SELECT status FROM {table} ORDER BY started_at").split("\n")
    assert rows == ["interrupted", "succeeded"], rows


# --- the database dies ------------------------------------------------------------------------

@pytest.fixture
def own_pg():
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


def own_env(base_env, moto, cluster):
    name, password = "job_" + uuid.uuid4().hex[:8], "pw-" + uuid.uuid4().hex
    cluster.create_user(name, password)
    secret_id = "pg-cron-job/faults/" + uuid.uuid4().hex[:8]
    moto.client("secretsmanager").create_secret(Name=secret_id, SecretString=cluster.secret_json(name, password))
    return dict(base_env, DB_SECRET_ID=secret_id, PGSSLROOTCERT=str(cluster.ca.path)), password


def test_database_killed_mid_statement(binary, base_env, moto, own_pg):
    env, password = own_env(base_env, moto, own_pg)
    env["SQL"] = "SELECT pg_sleep(60)"
    holder = {}
    thread = threading.Thread(target=lambda: holder.update(r=run_oneshot(binary, env)))
    thread.start()
    wait_for(lambda: own_pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'") == "1",
             "the statement to start", timeout=20)
    killed = time.monotonic()
    own_pg.kill()
    thread.join(timeout=30)
    r = holder["r"]
    assert time.monotonic() - killed < 10
    assert r.code == 1 and r.report["error"]["kind"] == "connect", r
    assert "lost" in r.report["error"]["message"] or "closed" in r.report["error"]["message"], r
    assert_clean(r, password)


def test_database_down_before_the_run(binary, base_env, moto, own_pg):
    env, password = own_env(base_env, moto, own_pg)
    own_pg.kill()
    r, took = timed(binary, dict(env, SQL="SELECT 1", PGCONNECT_TIMEOUT="3"))
    assert r.code == 1 and r.report["error"]["kind"] == "connect", r
    assert took < 5
    assert_clean(r, password)


# --- psql fidelity ----------------------------------------------------------------------------

CORPUS = r"""
\set ON_ERROR_STOP on
\timing on
\pset pager off
\echo 'purging old rows'
\set keep_days 90
\set tbl corpus_:suffix
\set who 'O''Brien'
CREATE TABLE :"tbl" (id int, note text);
INSERT INTO :"tbl" VALUES (1, :'who'), (2, 'x;y');
SELECT count(*) FROM :"tbl" \g
SELECT 1 AS a \; SELECT 2 AS b;
SET standard_conforming_strings = off;
INSERT INTO :"tbl" VALUES (3, 'it\'s; here');
SET standard_conforming_strings = on;
INSERT INTO :"tbl" VALUES (4, 'back\slash');
-- a comment; with a semicolon
DELETE FROM :"tbl" WHERE id > :keep_days;
/* block; comment */ SELECT :'who' AS who, 1::int AS cast_ok;
\x
DO $$ BEGIN PERFORM 1; END $$;
SELECT note FROM :"tbl" WHERE note = E'x;y'
\g
\set t "My Table"
\set c 'oct\101' 'hex\x41' 'n\x4a3'
\set q "a:keep_days b"
SELECT 1 AS :t, :'c' AS c, :'q' AS q, :{?keep_days} AS d, :{?nope} AS n;
SELECT :'AUTOCOMMIT' AS ac, :'VERBOSITY' AS v, :'FETCH_COUNT' AS fc, :'SHOW_CONTEXT' AS sc, :'ECHO' AS e;
"""


def logged_statements(log: str, app: str) -> list[str]:
    entries, current = [], None
    for line in log.splitlines():
        m = re.match(r"^([^|]*)\|[A-Z]+:  (.*)$", line)
        if m:
            current = [m.group(1), m.group(2)]
            entries.append(current)
        elif current is not None:
            current[1] += "\n" + line
    return [e[1][len("statement: "):].strip() for e in entries
            if e[0] == app and e[1].startswith("statement: ")]


def test_psql_script_sends_what_psql_sends(binary, base_env, moto, tmp_path):
    cluster = PostgresCluster(extra_conf={"log_statement": "'all'", "log_line_prefix": "'%a|'"}).start()
    try:
        env, password = own_env(base_env, moto, cluster)
        user = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=env["DB_SECRET_ID"])["SecretString"])["username"]
        runs = {}
        for app in ("psqlref", "runner"):
            script = tmp_path / f"{app}.sql"
            script.write_text("\\set suffix " + app + CORPUS)
            runs[app] = script
        psql_env = dict(os.environ, PGPASSWORD=password, PGSSLMODE="verify-full", PGSSLROOTCERT=str(cluster.ca.path),
                        PGAPPNAME="psqlref")
        out = subprocess.run(["psql", "-X", "-q", "-h", cluster.host, "-p", str(cluster.port), "-U", user,
                              "-d", "postgres", "-f", str(runs["psqlref"])],
                             env=psql_env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        r = run_oneshot(binary, dict(env, SQL_FILE=str(runs["runner"]), PGAPPNAME="runner", ALLOW_OVERLAP="true"))
        assert r.code == 0, r
        assert "purging old rows" in r.stderr
        log = cluster.log_text
        # The runner's own session set-up and writer check are not part of the script.
        own = ("client_connection_check_interval", "pg_is_in_recovery()")
        ours = [s for s in logged_statements(log, "runner") if not any(o in s for o in own)]
        theirs = [s.replace("psqlref", "runner") for s in logged_statements(log, "psqlref")]
        assert len(theirs) >= 12, theirs
        assert ours == theirs
        assert r.report["statements"] == len(ours)
        # The harness's CREATE ROLE is logged; nothing the runner sent may carry the password.
        assert not [line for line in log.splitlines() if line.startswith("runner|") and password in line]
    finally:
        cluster.stop()


def test_byte_order_mark_and_unterminated_comment_as_psql(binary, base_env, moto, tmp_path):
    """A file saved with a UTF-8 byte-order mark and ending inside a /* comment: the runner sends
    the statements psql sends (the mark skipped, the unterminated comment sent and refused by the
    server) and fails as psql does."""
    cluster = PostgresCluster(extra_conf={"log_statement": "'all'", "log_line_prefix": "'%a|'"}).start()
    try:
        env, password = own_env(base_env, moto, cluster)
        user = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=env["DB_SECRET_ID"])["SecretString"])["username"]
        script = tmp_path / "bom.sql"
        script.write_bytes("\ufeffSELECT 1 AS first;\nSELECT 2 AS second;\n/* never closed\n".encode())
        psql_env = dict(os.environ, PGPASSWORD=password, PGSSLMODE="verify-full", PGSSLROOTCERT=str(cluster.ca.path),
                        PGAPPNAME="psqlref")
        out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.host, "-p", str(cluster.port),
                              "-U", user, "-d", "postgres", "-f", str(script)],
                             env=psql_env, capture_output=True, text=True, timeout=60)
        r = run_oneshot(binary, dict(env, SQL_FILE=str(script), PGAPPNAME="runner", ALLOW_OVERLAP="true"))
        log = cluster.log_text
        own = ("client_connection_check_interval", "pg_is_in_recovery()")
        ours = [s for s in logged_statements(log, "runner") if not any(o in s for o in own)]
        theirs = logged_statements(log, "psqlref")
        assert ours == theirs and len(theirs) >= 2, (ours, theirs, out.stderr)
        assert (out.returncode != 0) == (r.code != 0), (out, r)
    finally:
        cluster.stop()


# --- hostile PostgreSQL peers -------------------------------------------------------------------

def run_measured(binary, env, timeout):
    """Runs the binary in one-shot mode; returns (CompletedProcess, its peak RSS in kB).

    The peak is the process's own VmHWM (/proc/<pid>/status), read every 10 ms while it runs: it
    belongs to the memory map exec created, whereas wait4's ru_maxrss carries this (large) Python
    parent's high-water mark into the child across fork and exec."""
    import tempfile
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([binary], env={"PATH": os.environ["PATH"], **env}, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        peak_kb = 0
        while child.poll() is None:
            try:
                with open(f"/proc/{child.pid}/status") as status:
                    hwm = next((line for line in status if line.startswith("VmHWM:")), None)
                peak_kb = max(peak_kb, int(hwm.split()[1])) if hwm else peak_kb
            except (OSError, StopIteration, ValueError):
                pass
            if time.monotonic() > deadline:
                child.kill()
                child.wait()
                break
            time.sleep(0.01)
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess([binary], child.returncode, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))
    return proc, peak_kb


class HostilePostgres:
    """A TLS server on 127.0.0.1 that speaks PostgreSQL's start-up (SSLRequest, TLS with a
    certificate of the test CA, AuthenticationOk) and then misbehaves as `behaviour` says."""

    def __init__(self, ca, directory, behaviour: str, huge_for: str = "", pace: float = 0.0):
        import ssl
        cert, key = ca.issue(directory, "hostile", ips=["127.0.0.1"])
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.behaviour = behaviour
        # huge_row: the queries (containing this text) answered with one 100 MB row.
        self.huge_for = huge_for
        # Seconds between the huge row's 64 kB writes (a slow peer).
        self.pace = pace
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.sent = 0
        self.queries = []
        threading.Thread(target=self._serve, daemon=True).start()

    ROW = 100 * 1024 * 1024

    @staticmethod
    def _read(tls, n):
        data = b""
        while len(data) < n:
            piece = tls.recv(n - len(data))
            if not piece:
                raise OSError("closed")
            data += piece
        return data

    @staticmethod
    def message(ty: bytes, body: bytes) -> bytes:
        return ty + (len(body) + 4).to_bytes(4, "big") + body

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        try:
            conn.settimeout(10)
            conn.recv(8)  # SSLRequest
            conn.sendall(b"S")
            tls = self.context.wrap_socket(conn, server_side=True)
            length = int.from_bytes(tls.recv(4), "big")
            tls.recv(length - 4)  # the start-up packet
            tls.sendall(self.message(b"R", (0).to_bytes(4, "big")))
            notice = self.message(b"N", b"SNOTICE\x00Mhello\x00\x00")
            if self.behaviour == "notices":
                while not self.stopping.is_set():
                    tls.sendall(notice * 100)
                    self.sent += 100
            elif self.behaviour == "huge_error":
                tls.sendall(b"E" + (1 << 30).to_bytes(4, "big") + b"SERROR\x00M")
                while not self.stopping.is_set():
                    tls.sendall(b"x" * 65536)
                    self.sent += 65536
            elif self.behaviour == "huge_row":
                # Every query is answered with one 100 MB row, sent in 64 kB writes.
                tls.sendall(self.message(b"Z", b"I"))
                while not self.stopping.is_set():
                    header = self._read(tls, 5)
                    body = self._read(tls, int.from_bytes(header[1:], "big") - 4)
                    if header[:1] == b"X":
                        break
                    if header[:1] != b"Q":
                        continue
                    query = body.rstrip(b"\x00").decode()
                    self.queries.append(query)
                    tls.sendall(self.message(b"T", (1).to_bytes(2, "big") + b"v\x00" + bytes(18)))
                    if self.huge_for in query:
                        tls.sendall(b"D" + (4 + 2 + 4 + self.ROW).to_bytes(4, "big") + (1).to_bytes(2, "big")
                                    + self.ROW.to_bytes(4, "big"))
                        chunk = b"x" * 65536
                        for _ in range(self.ROW // len(chunk)):
                            if self.stopping.is_set():
                                return
                            tls.sendall(chunk)
                            time.sleep(self.pace)
                    else:  # the runner's own checks: not in recovery, the lock is free
                        value = b"f" if b"recovery" in body else b"t"
                        tls.sendall(self.message(b"D", (1).to_bytes(2, "big") + len(value).to_bytes(4, "big") + value))
                    tls.sendall(self.message(b"C", b"SELECT 1\x00") + self.message(b"Z", b"I"))
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        self.sock.close()


@pytest.mark.parametrize("behaviour,needle", [
    ("notices", "flooded the session with more than 1000 notices"),
    ("huge_error", "1073741824-byte ErrorResponse message"),
    ("huge_row", "104857610-byte DataRow message, more than the 33554432 bytes"),
])
def test_a_hostile_server_cannot_grow_memory(binary, base_env, pg, tmp_path, behaviour, needle):
    """A peer that floods notices before the session is ready, announces a 1 GiB error, or
    answers the runner's own check (whose row it reads) with a 100 MB row to a 128 MB function:
    the run ends at once with a JSON result that says what the peer did (not "no answer"), with
    memory bounded (peak RSS measured)."""
    server = HostilePostgres(pg.ca, tmp_path, behaviour, huge_for="pg_is_in_recovery")
    try:
        env = dict(base_env, PGHOST="127.0.0.1", PGPORT=str(server.port), SQL="SELECT 1",
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", PGCONNECT_TIMEOUT="10")
        started = time.monotonic()
        proc, rss_kb = run_measured(binary, env, timeout=60)
        took = time.monotonic() - started
    finally:
        server.stop()
    r = RunResult(proc)
    assert r.code == 1 and r.report is not None, r
    msg = r.report["error"]["message"]
    assert needle in msg and "no answer" not in msg, msg
    assert rss_kb < 48 * 1024, f"peak RSS {rss_kb / 1024:.0f} MB"
    assert took < 10, f"took {took:.1f}s"


def test_rows_larger_than_the_function_memory_allows_are_skipped_not_held(binary, base_env, pg, tmp_path):
    """Every statement answered with a 100 MB row, to a 128 MB function (which keeps rows of
    at most 32 MB whole): the script's rows are counted and skipped as they arrive, so the run
    succeeds with memory far below the row's size."""
    server = HostilePostgres(pg.ca, tmp_path, "huge_row", huge_for="repeat(")
    try:
        env = dict(base_env, PGHOST="127.0.0.1", PGPORT=str(server.port), SQL="SELECT repeat('x', 100 << 20)",
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", PGCONNECT_TIMEOUT="10")
        proc, rss_kb = run_measured(binary, env, timeout=60)
    finally:
        server.stop()
    r = RunResult(proc)
    assert r.code == 0, (proc.stdout, proc.stderr[-3000:])
    assert "SELECT repeat('x', 100 << 20)" in server.queries, server.queries
    assert r.report["rows_affected"] == 1, r.report
    assert rss_kb < 48 * 1024, f"peak RSS {rss_kb / 1024:.0f} MB for a 100 MB row"


# --- a Lambda Runtime API that breaks its protocol ------------------------------------------------

class BrokenRuntimeApi:
    """A Runtime API on loopback whose `next` answer lacks `missing` (a header name), or
    everything when `missing` is "all"."""

    def __init__(self, missing: str):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                headers = {"Lambda-Runtime-Aws-Request-Id": "req-1",
                           "Lambda-Runtime-Deadline-Ms": str(int((time.time() + 30) * 1000)),
                           "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:eu-west-1:123456789012:function:f"}
                body = b"{}"
                self.send_response(200)
                for k, v in headers.items():
                    if missing not in (k, "all"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("missing,needle", [
    ("Lambda-Runtime-Aws-Request-Id", "missing lambda-runtime-aws-request-id header"),
    ("Lambda-Runtime-Deadline-Ms", "missing lambda-runtime-deadline-ms header"),
    ("AWS_LAMBDA_FUNCTION_NAME", "Missing AWS_LAMBDA_FUNCTION_NAME"),
])
def test_a_broken_runtime_api_ends_the_process_with_one_clear_line(binary, base_env, missing, needle):
    """The runtime library panics on these; the process logs one JSON line saying what was
    wrong and exits 1 (not Rust's panic text and exit 101), so Lambda replaces the environment."""
    api = BrokenRuntimeApi(missing)
    env = dict(base_env, SQL="SELECT 1", AWS_LAMBDA_RUNTIME_API=api.address, AWS_LAMBDA_FUNCTION_NAME="f",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", _HANDLER="job")
    env.pop(missing, None)
    try:
        proc = subprocess.run([binary], env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=30)
    finally:
        api.stop()
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-3000:])
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    stopped = [line for line in lines if "could not handle" in line.get("message", "")]
    assert stopped and needle in stopped[0]["error"], proc.stderr[-3000:]
    assert "panicked at" not in proc.stderr, proc.stderr[-3000:]


def test_a_slow_large_row_does_not_outlast_the_deadline(binary, base_env, pg, tmp_path):
    """A 100 MB row trickled at about 6 MB/s (it would take 16 s) under MAX_RUNTIME_MS=3000 and
    DEADLINE_MARGIN_MS=1000, from a peer that ignores statement_timeout: the run gives up at its
    hard deadline (the deadline plus the margin, which a real server's statement timeout beats),
    while the row is still arriving, and says so."""
    server = HostilePostgres(pg.ca, tmp_path, "huge_row", huge_for="repeat(", pace=0.01)
    try:
        env = dict(base_env, PGHOST="127.0.0.1", PGPORT=str(server.port), SQL="SELECT repeat('x', 100 << 20)",
                   MAX_RUNTIME_MS="3000", DEADLINE_MARGIN_MS="1000", PGCONNECT_TIMEOUT="10")
        started = time.monotonic()
        proc, _ = run_measured(binary, env, timeout=60)
        took = time.monotonic() - started
    finally:
        server.stop()
    r = RunResult(proc)
    assert r.code == 1 and r.report["error"]["kind"] == "timeout", (proc.stdout, proc.stderr[-2000:])
    assert took < 5, f"returned after {took:.1f}s for a 3 s deadline and a 4 s hard deadline"
