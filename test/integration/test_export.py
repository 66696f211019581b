"""Extraction jobs: the real runner streams a query's rows into the local AWS API server's S3 (on
loopback) with a multipart upload; the object is compared byte for byte with what psql's
\\copy produces from the same database."""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid

import pytest

from harness import PostgresCluster, run_oneshot, wait_for

ROWS = 1_000_000
EVENT = json.dumps({"id": "exec-1", "scheduled_time": "2026-11-29T02:30:00Z"})


@pytest.fixture(scope="module")
def export_table(pg):
    """1,000,000 rows with NULLs, quotes, commas, newlines, backslashes and unicode."""
    name = "exp_" + uuid.uuid4().hex[:8]
    pg.psql(f"""CREATE TABLE {name} AS
        SELECT g AS id,
               CASE WHEN g % 7 = 0 THEN NULL ELSE 'row ' || g END AS label,
               CASE g % 5 WHEN 0 THEN 'say "hi", ok' WHEN 1 THEN E'two\\nlines' WHEN 2 THEN E'back\\\\slash'
                          WHEN 3 THEN 'caffè ☕ 東京' ELSE '' END AS note,
               (g * 1.5)::numeric(12,2) AS amount,
               timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' AS at
        FROM generate_series(1, {ROWS}) g""")
    pg.psql(f"GRANT SELECT ON {name} TO PUBLIC")
    return name


@pytest.fixture
def bucket(moto):
    name = "exports-" + uuid.uuid4().hex[:8]
    moto.client("s3").create_bucket(Bucket=name)
    return name


def psql_out(pg, sql: str, *flags: str) -> bytes:
    env = dict(os.environ, PGPASSWORD=pg.SUPERUSER_PASSWORD, PGSSLMODE="verify-full", PGSSLROOTCERT=str(pg.ca.path))
    out = subprocess.run(["psql", "-X", "-q", *flags, "-h", pg.host, "-p", str(pg.port), "-U", "postgres",
                          "-d", "postgres", "-c", sql], env=env, capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def get(moto, bucket, key) -> bytes:
    return moto.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_csv_gzip_export_matches_psql_copy_and_its_manifest(binary, base_env, pg, moto, bucket, export_table):
    query = f"SELECT id, label, note, amount, at FROM {export_table} ORDER BY id"
    env = dict(base_env, SQL=query, JOB_NAME="nightly-extract", EXPORT_MANIFEST="true",
               EXPORT_S3_URI=f"s3://{bucket}/exports/{{job}}/{{scheduled_date}}/{{job}}-{{scheduled_time}}.csv.gz")
    r = run_oneshot(binary, env, EVENT, timeout=300)
    assert r.code == 0, r
    key = "exports/nightly-extract/2026-11-29/nightly-extract-20261129T023000Z.csv.gz"
    rep = r.report
    assert rep["s3_uri"] == f"s3://{bucket}/{key}"
    assert rep["rows_exported"] == ROWS and rep["rows_affected"] == ROWS
    body = get(moto, bucket, key)
    assert rep["bytes_written"] == len(body) and rep["bytes_uncompressed"] > len(body)
    expected = psql_out(pg, f"\\copy ({query}) TO STDOUT WITH (FORMAT csv, HEADER)")
    assert gzip.decompress(body) == expected
    manifest = json.loads(get(moto, bucket, key + ".manifest.json"))
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest() == rep["sha256"]
    assert manifest["rows"] == ROWS and manifest["run_id"] == rep["run_id"]
    assert manifest["scheduled_time"] == "2026-11-29T02:30:00Z"
    head = moto.client("s3").head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256" and head.get("ContentEncoding") == "gzip"
    assert moto.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_zstd_export_on_three_threads_matches_psql_copy(binary, base_env, pg, moto, bucket, export_table):
    """zstd (the key's .zst), level 9, three compression threads: independent frames, one per
    block, concatenated into parts uploaded concurrently; the object decompresses (zstd CLI) to
    exactly psql's \\copy output."""
    query = f"SELECT id, label, note, amount, at FROM {export_table} ORDER BY id"
    env = dict(base_env, SQL=query, EXPORT_THREADS="3", EXPORT_COMPRESSION_LEVEL="9",
               EXPORT_S3_URI=f"s3://{bucket}/z/{{job}}.csv.zst")
    r = run_oneshot(binary, env, EVENT, timeout=300)
    assert r.code == 0, r
    assert r.report["compression"] == "zstd" and r.report["gzip"] is False
    body = get(moto, bucket, r.report["s3_uri"].split("/", 3)[3])
    assert shutil.which("zstd"), "this test decompresses with the zstd CLI (README, Prerequisites): apt-get install zstd"
    plain = subprocess.run(["zstd", "-dc"], input=body, capture_output=True, check=True).stdout
    assert plain == psql_out(pg, f"\\copy ({query}) TO STDOUT WITH (FORMAT csv, HEADER)")
    assert r.report["rows_exported"] == ROWS and r.report["bytes_written"] == len(body) < len(plain) / 3
    head = moto.client("s3").head_object(Bucket=bucket, Key=r.report["s3_uri"].split("/", 3)[3])
    assert head.get("ContentEncoding") == "zstd"


def test_a_value_larger_than_the_function_keeps_whole_is_exported_in_pieces(binary, base_env, pg, moto, bucket):
    """A 128 MB function keeps rows of at most 32 MB whole; an export of a 60 MB value (one row)
    still succeeds, byte for byte as psql's \\copy writes it: COPY data reaches the export in
    pieces and is never assembled."""
    query = "SELECT 1 AS id, repeat(md5('v'), 1875000) AS v UNION ALL SELECT 2, 'after'"
    env = dict(base_env, SQL=query, AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
               EXPORT_S3_URI=f"s3://{bucket}/big/{{job}}.csv.gz")
    r = run_oneshot(binary, env, EVENT, timeout=300)
    assert r.code == 0, r
    assert r.report["rows_exported"] == 2, r.report
    body = gzip.decompress(get(moto, bucket, r.report["s3_uri"].split("/", 3)[3]))
    assert len(body) > 60_000_000
    assert body == psql_out(pg, f"\\copy ({query}) TO STDOUT WITH (FORMAT csv, HEADER)")


def test_jsonl_export_is_one_json_object_per_row(binary, base_env, pg, moto, bucket, export_table):
    query = f"SELECT id, label, note, amount FROM {export_table} ORDER BY id"
    env = dict(base_env, SQL=query + ";", EXPORT_FORMAT="jsonl", EXPORT_S3_URI=f"s3://{bucket}/x/{{run_id}}.jsonl")
    r = run_oneshot(binary, env, timeout=300)
    assert r.code == 0, r
    body = get(moto, bucket, r.report["s3_uri"].split("/", 3)[3])
    expected = psql_out(pg, f"SELECT row_to_json(q)::text FROM ({query}) q", "-A", "-t")
    assert body == expected
    assert body.count(b"\n") == ROWS == r.report["rows_exported"]
    lines = body.split(b"\n")
    assert json.loads(lines[0]) == {"id": 1, "label": "row 1", "note": "two\nlines", "amount": 1.50}
    assert json.loads(lines[6])["label"] is None and json.loads(lines[2])["note"] == "caffè ☕ 東京"


def test_redelivered_event_overwrites_the_same_key(binary, base_env, moto, bucket):
    env = dict(base_env, SQL="SELECT g FROM generate_series(1, 10) g",
               EXPORT_S3_URI=f"s3://{bucket}/daily/{{scheduled_date}}.csv")
    for _ in range(2):
        r = run_oneshot(binary, env, EVENT)
        assert r.code == 0, r
    keys = [o["Key"] for o in moto.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["daily/2026-11-29.csv"]
    assert get(moto, bucket, keys[0]).decode().splitlines()[:2] == ["g", "1"]


def test_database_killed_mid_export_leaves_no_object_and_no_upload(binary, base_env, moto, bucket):
    cluster = PostgresCluster().start()
    try:
        user, password = "job_" + uuid.uuid4().hex[:8], "pw-" + uuid.uuid4().hex
        cluster.create_user(user, password)
        sid = "pg-cron-job/export/" + uuid.uuid4().hex[:8]
        moto.client("secretsmanager").create_secret(Name=sid, SecretString=cluster.secret_json(user, password))
        env = dict(base_env, DB_SECRET_ID=sid, PGSSLROOTCERT=str(cluster.ca.path),
                   SQL="SELECT g, md5(g::text) FROM generate_series(1, 200000000) g",
                   EXPORT_S3_URI=f"s3://{bucket}/big.csv")
        holder = {}
        t = threading.Thread(target=lambda: holder.update(r=run_oneshot(binary, env, timeout=120)))
        t.start()
        s3 = moto.client("s3")
        # Killed once at least one part is on its way: the upload is in progress.
        wait_for(lambda: s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), "the multipart upload", timeout=60)
        wait_for(lambda: any(s3.list_parts(Bucket=bucket, Key="big.csv", UploadId=u["UploadId"]).get("Parts")
                             for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])),
                 "a first part", timeout=60)
        cluster.kill()
        t.join(timeout=60)
        r = holder["r"]
        assert r.code == 1 and r.report["error"]["kind"] == "connect", r
        assert "s3_uri" not in r.report
        assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    finally:
        cluster.stop()


@pytest.mark.parametrize("env_update, needle", [
    ({"SQL": "DELETE FROM t", "EXPORT_S3_URI": "s3://b-1/x.csv"}, "DELETE"),
    ({"SQL": "SELECT 1; SELECT 2", "EXPORT_S3_URI": "s3://b-1/x.csv"}, "2 statements"),
    ({"SQL": "SELECT 1", "EXPORT_S3_URI": "s3://b-1/{day}.csv"}, "{day}"),
    ({"SQL": "SELECT 1", "EXPORT_S3_URI": "b-1/x.csv"}, "EXPORT_S3_URI"),
    ({"SQL": "SELECT 1", "EXPORT_S3_URI": "s3://b-1/x.csv", "EXPORT_FORMAT": "xml"}, "EXPORT_FORMAT"),
])
def test_bad_export_settings_are_config_errors(binary, base_env, env_update, needle):
    r = run_oneshot(binary, dict(base_env, **env_update))
    assert r.code == 2 and r.report["error"]["kind"] == "config", r
    assert needle in r.report["error"]["message"]


def test_run_context_is_visible_to_the_jobs_sql(binary, base_env, pg, secret):
    table = "ctx_" + uuid.uuid4().hex[:8]
    pg.psql(f"CREATE TABLE {table} (job text, scheduled timestamptz, run_id text)")
    pg.psql(f"ALTER TABLE {table} OWNER TO {secret['user']}")
    sql = (f"INSERT INTO {table} SELECT current_setting('pg_cron_job.job_name'), "
           f"current_setting('pg_cron_job.scheduled_time')::timestamptz, current_setting('pg_cron_job.run_id')")
    r = run_oneshot(binary, dict(base_env, SQL=sql, JOB_NAME="it's-a-job"), EVENT)
    assert r.code == 0, r
    row = pg.psql(f"SELECT job || '|' || to_char(scheduled AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || '|' || run_id FROM {table}")
    assert row == f"it's-a-job|2026-11-29 02:30|{r.report['run_id']}"
