#!/usr/bin/env python3
"""`make bench`: the shipped bootstrap measured next to the tools it replaces, on this machine.
Not a test: it prints figures and whether each target is met. BENCH_ONLY picks sections
(comma-separated; default all): cold, scale, statements, export, value.

- cold: one-shot run (secret fetch from moto + TLS verify-full connect + SELECT 1) against psql's
  TLS connect + SELECT 1; median of BENCH_RUNS (15). Targets: <= 1.5x psql, peak RSS <= 32 MB.
- scale: peak RSS of a 5,000,000-row SELECT (<= 32 MB) and a 200,000-statement file (<= 48 MB).
- statements: a 20,000-statement file against `psql -f`, without and with a deadline: wall time
  (median of 5, alternating) and the repeatable count, valgrind's instructions of each client
  process; per-statement instructions come from the difference between the 20,000- and the
  1-statement file, so start-up (the runner's secret fetch) is not counted. Target <= 1.05x.
- export: the runner's export against the pipeline it replaces, `psql -c "\\copy (...) TO STDOUT
  CSV HEADER" | gzip | aws s3 cp - s3://...` (the AWS CLI from the bench venv), into the same local
  S3, alternating, BENCH_EXPORT_RUNS (3) each, at BENCH_EXPORT_ROWS (1000000,10000000): medians,
  ratio, the runner's peak RSS, and whether both objects decompress to the same bytes; once on
  both cores and once pinned to one core (taskset), the runner with its default thread count.
  Targets: ratio <= 1.0, peak RSS <= 64 MB. Also zstd at 1M rows.
- value: one 500 MB value, selected (rows skipped by the runner; psql prints it to /dev/null) and
  a 200 MB value exported; target within 2x of psql, memory bounded by the part size."""
import gzip
import hashlib
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from harness import MotoServer, PostgresCluster  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "15"))
EXPORT_RUNS = int(os.environ.get("BENCH_EXPORT_RUNS", "3"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "cold,scale,statements,export,value").split(",")))
TIME = "/usr/bin/time"  # GNU time: a small parent, so the child's peak RSS is its own
VENV_BIN = pathlib.Path(sys.executable).parent
# psql itself: Debian's /usr/bin/psql is a Perl wrapper that would add its own start-up (and be
# what valgrind counts).
PSQL = next(iter(sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/psql"))), None) or "psql"


def measure(cmd, env, cpus=None):
    """Wall time in ms and peak RSS in MB. Linux carries a parent's RSS high-water mark into a
    forked child, so RSS is read through GNU time rather than from this (large) Python process."""
    pin = ["taskset", "-c", cpus] if cpus else []
    with tempfile.NamedTemporaryFile("r") as out:
        started = time.perf_counter()
        proc = subprocess.run([*pin, TIME, "-o", out.name, "-f", "%M", *cmd], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        return elapsed * 1000, int(out.read().split()[-1]) / 1024


def shell(script, env, cpus=None):
    """Wall time in ms of a bash pipeline (pipefail), optionally pinned."""
    pin = ["taskset", "-c", cpus] if cpus else []
    started = time.perf_counter()
    subprocess.run([*pin, "bash", "-o", "pipefail", "-c", script], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def instructions(cmd, env):
    """Instructions the process executed (valgrind's callgrind count: the same on every run)."""
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"valgrind {cmd[0]} failed: {proc.stderr[-2000:]}")
    return int(re.search(r"Collected : (\d+)", proc.stderr).group(1))


def met(ok):
    return "met" if ok else "NOT met"


def main():
    binary = os.environ.get("PG_CRON_JOB_BIN") or sys.exit("set PG_CRON_JOB_BIN to the bootstrap to measure")
    pg, moto = PostgresCluster().start(), MotoServer(VENV_BIN)
    try:
        pg.create_user("bench", "bench-password-123")
        moto.client("secretsmanager").create_secret(Name="bench", SecretString=pg.secret_json("bench", "bench-password-123"))
        base = {"PATH": os.environ["PATH"]}
        runner_env = {**base, **moto.env(), "DB_SECRET_ID": "bench", "PGSSLMODE": "verify-full",
                      "PGSSLROOTCERT": str(pg.ca.path), "RUST_LOG": "warn"}
        psql_env = {**base, "PGPASSWORD": "bench-password-123", "PGSSLMODE": "verify-full", "PGSSLROOTCERT": str(pg.ca.path)}
        psql = [str(PSQL), "-X", "-h", pg.host, "-p", str(pg.port), "-U", "bench", "-d", "postgres"]
        print(f"bench of {binary} on {os.cpu_count()} cores")
        if "cold" in ONLY:
            cold(binary, runner_env, psql_env, psql)
        if "scale" in ONLY:
            scale(binary, runner_env)
        if "statements" in ONLY:
            statements(binary, pg, runner_env, psql_env, psql)
        if "export" in ONLY:
            export(binary, moto, runner_env, psql_env, psql)
        if "value" in ONLY:
            value(binary, moto, runner_env, psql_env, psql)
    finally:
        moto.stop()
        pg.stop()


def cold(binary, runner_env, psql_env, psql):
    def series(cmd, env):
        measure(cmd, env)  # warm the page cache, not the process
        samples = [measure(cmd, env) for _ in range(RUNS)]
        return statistics.median(s[0] for s in samples), max(s[1] for s in samples)

    r_ms, r_rss = series([binary], dict(runner_env, SQL="SELECT 1"))
    p_ms, p_rss = series([*psql, "-c", "SELECT 1"], psql_env)
    print(f"cold start, {RUNS} runs each: pg-cron-job (secret fetch + TLS connect + SELECT 1) median {r_ms:.1f} ms, "
          f"peak RSS {r_rss:.1f} MB; psql (TLS connect + SELECT 1) {p_ms:.1f} ms, {p_rss:.1f} MB")
    print(f"  ratio {r_ms / p_ms:.2f}x (target <= 1.5x: {met(r_ms <= 1.5 * p_ms)}); RSS <= 32 MB: {met(r_rss <= 32)}")


def scale(binary, runner_env):
    with tempfile.TemporaryDirectory() as d:
        big = pathlib.Path(d) / "big.sql"
        filler = "x" * 60
        with big.open("w") as f:
            for i in range(200_000):
                f.write(f"SELECT {i} AS n, '{filler}' AS pad; -- statement {i}\n")
        _, rss = measure([binary], dict(runner_env, SQL="SELECT g, md5(g::text) FROM generate_series(1, 5000000) g"))
        print(f"5,000,000-row SELECT: peak RSS {rss:.1f} MB (target <= 32 MB: {met(rss <= 32)})")
        ms, rss = measure([binary], dict(runner_env, SQL_FILE=str(big)))
        print(f"{big.stat().st_size / 1e6:.1f} MB / 200,000-statement file: {ms / 1000:.1f} s, peak RSS {rss:.1f} MB "
              f"(target <= 48 MB: {met(rss <= 48)})")


def statements(binary, pg, runner_env, psql_env, psql):
    pg.psql("CREATE TABLE IF NOT EXISTS bench_t (id int, note text)")
    pg.psql("GRANT ALL ON bench_t TO bench")
    with tempfile.TemporaryDirectory() as d:
        files = {}
        for n in (1, 20_000):
            files[n] = pathlib.Path(d) / f"s{n}.sql"
            files[n].write_text("".join(f"INSERT INTO bench_t VALUES ({i}, 'n{i}');\n" for i in range(n)))
        variants = {"psql -f": lambda f: ([*psql, "-q", "-f", str(f)], psql_env),
                    "pg-cron-job, no deadline": lambda f: ([binary], dict(runner_env, SQL_FILE=str(f))),
                    "pg-cron-job, MAX_RUNTIME_MS": lambda f: ([binary], dict(runner_env, SQL_FILE=str(f), MAX_RUNTIME_MS="600000"))}
        walls = {name: [] for name in variants}
        for _ in range(5):
            for name, make in variants.items():
                walls[name].append(measure(*make(files[20_000]))[0])
        counts = {}
        for name, make in variants.items():
            total = instructions(*make(files[20_000]))
            counts[name] = (total, (total - instructions(*make(files[1]))) / 19_999)
        p_wall, p_count = statistics.median(walls["psql -f"]), counts["psql -f"]
        print(f"20,000 statements: psql -f {p_wall:.0f} ms, {p_count[0] / 1e6:.0f} M instructions "
              f"({p_count[1]:,.0f} per statement)")
        for name in list(variants)[1:]:
            wall, count = statistics.median(walls[name]), counts[name]
            print(f"  {name}: {wall:.0f} ms = {wall / p_wall:.2f}x (target <= 1.05x: {met(wall <= 1.05 * p_wall)}); "
                  f"{count[0] / 1e6:.0f} M instructions, {count[1]:,.0f} per statement = {count[1] / p_count[1]:.2f}x psql's")


def s3_bytes(moto, bucket, key):
    return moto.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def decompress(data, key):
    if key.endswith(".gz"):
        return gzip.decompress(data)
    if key.endswith(".zst"):
        return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    return data


def export(binary, moto, runner_env, psql_env, psql):
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="bench-exports")
    aws = str(VENV_BIN / "aws")
    aws_env = {**psql_env, **moto.env()}
    for rows in (int(n) for n in os.environ.get("BENCH_EXPORT_ROWS", "1000000,10000000").split(",")):
        query = f"SELECT g AS id, md5(g::text) AS label, g * 1.5 AS amount, now()::date AS at FROM generate_series(1, {rows}) g"
        copy = f"\\copy ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
        pipeline = " ".join([*psql, "-c", f'"{copy}"']) + f" | gzip | {aws} s3 cp - s3://bench-exports/pipe-{rows}.csv.gz"
        for cpus, label in ((None, f"{os.cpu_count()} cores"), ("0", "1 core")):
            ours, theirs, rss = [], [], 0.0
            for _ in range(EXPORT_RUNS):
                ms, peak = measure([binary], dict(runner_env, SQL=query, EXPORT_S3_URI=f"s3://bench-exports/ours-{rows}.csv.gz"), cpus)
                ours.append(ms)
                rss = max(rss, peak)
                theirs.append(shell(pipeline, aws_env, cpus))
            a = decompress(s3_bytes(moto, "bench-exports", f"ours-{rows}.csv.gz"), ".gz")
            b = decompress(s3_bytes(moto, "bench-exports", f"pipe-{rows}.csv.gz"), ".gz")
            mb = len(a) / 1e6
            o, t = statistics.median(ours), statistics.median(theirs)
            print(f"export {rows:,} rows ({mb:.0f} MB CSV, gzip), {label}: pg-cron-job {o / 1000:.2f} s ({mb / o * 1000:.1f} MB/s), "
                  f"pipeline {t / 1000:.2f} s ({mb / t * 1000:.1f} MB/s): {o / t:.2f}x (target <= 1.0: {met(o <= t)}); "
                  f"peak RSS {rss:.1f} MB (<= 64: {met(rss <= 64)}); objects decompress equal: {a == b}")
        if rows <= 1_000_000:
            key = f"ours-{rows}.csv.zst"
            ms, peak = measure([binary], dict(runner_env, SQL=query, EXPORT_S3_URI=f"s3://bench-exports/{key}"))
            data = s3_bytes(moto, "bench-exports", key)
            print(f"  zstd: {ms / 1000:.2f} s, {len(data) / 1e6:.1f} MB stored, peak RSS {peak:.1f} MB; "
                  f"decompresses equal: {decompress(data, key) == a}")


def value(binary, moto, runner_env, psql_env, psql):
    s3 = moto.client("s3")
    if "bench-exports" not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket="bench-exports")
    select = "SELECT repeat('x', 500000000) AS v"
    ours, rss = measure([binary], dict(runner_env, SQL=select))
    theirs, p_rss = measure([*psql, "-At", "-c", select], psql_env)
    print(f"one 500 MB value selected: pg-cron-job {ours / 1000:.1f} s, peak RSS {rss:.1f} MB; psql {theirs / 1000:.1f} s, "
          f"{p_rss:.0f} MB: {ours / theirs:.2f}x (target <= 2x: {met(ours <= 2 * theirs)})")
    query = "SELECT repeat(md5('v'), 6250000) AS v"  # 200 MB in one row
    key = "value.csv.gz"
    ours, rss = measure([binary], dict(runner_env, SQL=query, EXPORT_S3_URI=f"s3://bench-exports/{key}"))
    copy = f"\\copy ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
    theirs = shell(" ".join([*psql, "-c", f'"{copy}"']) + " | gzip > /dev/null", psql_env)
    data = decompress(s3_bytes(moto, "bench-exports", key), key)
    print(f"one 200 MB value exported (gzip): pg-cron-job {ours / 1000:.1f} s, peak RSS {rss:.1f} MB "
          f"(memory bounded by the part size: {met(rss <= 64)}); psql \\copy | gzip {theirs / 1000:.1f} s: "
          f"{ours / theirs:.2f}x (target <= 2x: {met(ours <= 2 * theirs)}); object sha256 {hashlib.sha256(data).hexdigest()[:12]}, {len(data) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
