"""`pg-cron-job import pg-cron --from-database` against a real PostgreSQL (TLS, verify-full) with
a cron.job-shaped table, read with the usual PG* settings."""
import subprocess
import uuid

import pytest

CRON_JOB = """
CREATE SCHEMA cron;
CREATE TABLE cron.job (
    jobid bigserial PRIMARY KEY,
    schedule text NOT NULL,
    command text NOT NULL,
    nodename text NOT NULL DEFAULT 'localhost',
    nodeport integer NOT NULL DEFAULT 5432,
    database text NOT NULL DEFAULT current_database(),
    username text NOT NULL DEFAULT current_user,
    active boolean NOT NULL DEFAULT true
    {jobname}
);
INSERT INTO cron.job (schedule, command, database, username, active {jobname_col}) VALUES
    ('0 3 * * *', 'DELETE FROM events WHERE created_at < now() - interval ''30 days''', 'app', 'app_jobs', true {n1}),
    ('*/10 * * * 1-5', 'CALL app.sync(); ANALYZE app.synced', 'app', 'app_jobs', true {n2}),
    ('45 seconds', 'SELECT app.heartbeat()', 'app', 'app_jobs', true {n3}),
    ('0 0 1 * *', 'SELECT app.close_month()', 'app', 'postgres', false {n4});
"""


def make_db(pg, with_jobname=True, zone=None):
    db = "cronsrc_" + uuid.uuid4().hex[:8]
    pg.psql(f"CREATE DATABASE {db}")
    sql = CRON_JOB.format(
        jobname=", jobname text" if with_jobname else "",
        jobname_col=", jobname" if with_jobname else "",
        n1=", 'purge-events'" if with_jobname else "",
        n2=", 'sync'" if with_jobname else "",
        n3=", 'heartbeat'" if with_jobname else "",
        n4=", NULL" if with_jobname else "",
    )
    pg.psql(sql, db=db)
    if zone:
        pg.psql(f"ALTER DATABASE {db} SET cron.timezone = '{zone}'")
    return db


def run(binary, pg, db, tmp_path, *args, password=None, root=None, env=None):
    env_ = {
        "PATH": "/usr/bin:/bin",
        "PGHOST": pg.host,
        "PGPORT": str(pg.port),
        "PGUSER": "postgres",
        "PGPASSWORD": password or pg.SUPERUSER_PASSWORD,
        "PGDATABASE": db,
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(root or pg.ca.path),
        **(env or {}),
    }
    return subprocess.run(
        [binary, "import", "pg-cron", "--from-database", "--out", str(tmp_path / "out"), *args],
        env=env_, capture_output=True, text=True, timeout=60,
    )


def test_reads_cron_job_and_cron_timezone(binary, pg, tmp_path):
    db = make_db(pg, zone="Europe/Rome")
    proc = run(binary, pg, db, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"cron.job in {db} on {pg.host}:{pg.port}: 3 job(s) converted" in proc.stdout, proc.stdout
    main_tf = (tmp_path / "out" / "main.tf").read_text()
    assert 'schedule_timezone = "Europe/Rome"' in main_tf
    assert "purge_events = {" in main_tf
    assert 'schedule_expression = "cron(0 3 * * ? *)"' in main_tf
    assert "sync = {" in main_tf and 'schedule_expression = "cron(0/10 * ? * 2-6 *)"' in main_tf
    # Two statements in one pg_cron command ran in one transaction.
    assert 'sql_file            = "sql/sync.sql"' in main_tf
    assert (tmp_path / "out" / "sql" / "sync.sql").read_text() == "CALL app.sync(); ANALYZE app.synced\n"
    assert "job_4 = {" in main_tf and "schedule_enabled    = false" in main_tf
    report = (tmp_path / "out" / "REPORT.md").read_text()
    assert "45 seconds" in report and "rate(1 minute)" in report
    assert "`app_jobs`, `postgres`" in report


def test_old_pg_cron_without_jobname_and_default_zone(binary, pg, tmp_path):
    db = make_db(pg, with_jobname=False)
    proc = run(binary, pg, db, tmp_path, "--timezone", "America/New_York")
    assert proc.returncode == 0, proc.stderr
    main_tf = (tmp_path / "out" / "main.tf").read_text()
    assert "job_1 = {" in main_tf and "job_2 = {" in main_tf
    assert 'schedule_timezone = "America/New_York"' in main_tf


def test_a_login_that_sees_only_its_own_jobs_is_refused(binary, pg, tmp_path):
    """cron.job has row-level security in pg_cron (each login sees its own rows): a login that
    does not bypass it would import 1 job of 4 with exit 0; it is refused, naming the fix. The
    table's owner is not limited (RLS does not apply to it unless forced)."""
    db = make_db(pg)
    role = "importer_" + uuid.uuid4().hex[:6]
    pg.psql(f"CREATE ROLE {role} LOGIN PASSWORD 'imp-pass-1'", db=db)
    pg.psql(f"""GRANT USAGE ON SCHEMA cron TO {role}; GRANT SELECT ON cron.job TO {role};
        UPDATE cron.job SET username = '{role}' WHERE jobid = 1;
        ALTER TABLE cron.job ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own_jobs ON cron.job USING (username = current_user);""", db=db)
    env = {"PGUSER": role, "PGPASSWORD": "imp-pass-1"}
    proc = run(binary, pg, db, tmp_path, env=env)
    assert proc.returncode == 2, proc
    assert f"{role} sees only 1 row(s) of cron.job" in proc.stderr and "row-level security" in proc.stderr, proc.stderr
    assert not (tmp_path / "out" / "main.tf").exists()
    # The owner (here the superuser who made the table) sees every row.
    proc = run(binary, pg, db, tmp_path)
    assert proc.returncode == 0 and "3 job(s) converted" in proc.stdout, proc


@pytest.mark.parametrize("case", ["password", "ca", "no_table"])
def test_failures_are_explained(binary, pg, tmp_path, case):
    db = make_db(pg)
    if case == "password":
        proc = run(binary, pg, db, tmp_path, password="wrong")
        expected = "28P01"
    elif case == "ca":
        proc = run(binary, pg, db, tmp_path, root=pg.other_ca.path)
        expected = "not signed by a CA in PGSSLROOTCERT"
    else:
        pg.psql("DROP TABLE cron.job", db=db)
        proc = run(binary, pg, db, tmp_path)
        expected = "42P01"
    assert proc.returncode == 2, proc
    assert expected in proc.stderr, proc.stderr
    assert not (tmp_path / "out" / "main.tf").exists()
