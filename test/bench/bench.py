#!/usr/bin/env python3
"""Cold one-shot run of the shipped bootstrap (secret fetch from moto + TLS verify-full connect +
SELECT 1) against psql doing the TLS connect + SELECT 1 alone, on the same local server.
Prints median wall time, peak RSS and the ratio. Targets: within 1.5x of psql, peak RSS <= 32 MB.

Then the scale figures (BENCH_SCALE=0 skips them): peak RSS of a 5,000,000-row SELECT (target
<= 32 MB) and of a 20 MB / 200,000-statement file (target <= 48 MB), and a 20,000-statement file
next to `psql -f` of the same file, without and with a deadline (MAX_RUNTIME_MS), target <= 1.05x.
Export (BENCH_EXPORT_ROWS, default 1000000,10000000): CSV+gzip throughput (MB/s of CSV) and peak
RSS of an export to the local S3, next to `psql -c "\copy (...) TO STDOUT CSV" | gzip > file`;
targets: throughput >= psql's pipeline, peak RSS <= 64 MB."""
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from harness import MotoServer, PostgresCluster  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "15"))
SCALE = os.environ.get("BENCH_SCALE", "1") != "0"


TIME = "/usr/bin/time"  # GNU time: a small parent, so the child's peak RSS is its own


def measure(cmd, env):
    """Wall time in ms and peak RSS in MB. Linux carries a parent's RSS high-water mark into a
    forked child, so RSS is read through GNU time rather than from this (large) Python process."""
    with tempfile.NamedTemporaryFile("r") as out:
        started = time.perf_counter()
        proc = subprocess.run([TIME, "-o", out.name, "-f", "%M", *cmd], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed (exit {proc.returncode})")
        return elapsed * 1000, int(out.read().split()[-1]) / 1024


def series(cmd, env):
    measure(cmd, env)  # warm the page cache, not the process
    samples = [measure(cmd, env) for _ in range(RUNS)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def main():
    binary = os.environ.get("PG_CRON_JOB_BIN") or sys.exit("set PG_CRON_JOB_BIN to the bootstrap to measure")
    pg, moto = PostgresCluster().start(), MotoServer(pathlib.Path(sys.executable).parent)
    try:
        pg.create_user("bench", "bench-password-123")
        moto.client("secretsmanager").create_secret(Name="bench", SecretString=pg.secret_json("bench", "bench-password-123"))
        base = {"PATH": os.environ["PATH"]}
        runner_env = {**base, **moto.env(), "DB_SECRET_ID": "bench", "SQL": "SELECT 1", "PGSSLMODE": "verify-full",
                      "PGSSLROOTCERT": str(pg.ca.path), "RUST_LOG": "warn"}
        psql_env = {**base, "PGPASSWORD": "bench-password-123", "PGSSLMODE": "verify-full", "PGSSLROOTCERT": str(pg.ca.path)}
        psql_cmd = ["psql", "-X", "-h", pg.host, "-p", str(pg.port), "-U", "bench", "-d", "postgres", "-c", "SELECT 1"]
        r_ms, r_rss = series([binary], runner_env)
        p_ms, p_rss = series(psql_cmd, psql_env)
        print(f"runs per series: {RUNS}")
        print(f"pg-cron-job (secret fetch + TLS connect + SELECT 1): median {r_ms:.1f} ms, peak RSS {r_rss:.1f} MB")
        print(f"psql        (TLS connect + SELECT 1):               median {p_ms:.1f} ms, peak RSS {p_rss:.1f} MB")
        print(f"ratio: {r_ms / p_ms:.2f}x (target <= 1.5x); RSS target <= 32 MB: {'met' if r_rss <= 32 else 'NOT met'}")
        if SCALE:
            scale(binary, pg, runner_env, psql_env, psql_cmd[:-2])
            export(binary, pg, moto, runner_env, psql_env, psql_cmd[:-2])
    finally:
        moto.stop()
        pg.stop()


def scale(binary, pg, runner_env, psql_env, psql_base):
    pg.psql("CREATE TABLE IF NOT EXISTS bench_t (id int, note text)")
    pg.psql("GRANT ALL ON bench_t TO bench")
    with tempfile.TemporaryDirectory() as d:
        big = pathlib.Path(d) / "big.sql"
        filler = "x" * 60
        with big.open("w") as f:
            for i in range(200_000):
                f.write(f"SELECT {i} AS n, '{filler}' AS pad; -- statement {i}\n")
        size_mb = big.stat().st_size / 1e6
        env = dict(runner_env)
        env.pop("SQL")
        _, rss = measure([binary], dict(env, SQL="SELECT g, md5(g::text) FROM generate_series(1, 5000000) g"))
        print(f"5,000,000-row SELECT: peak RSS {rss:.1f} MB (target <= 32 MB: {'met' if rss <= 32 else 'NOT met'})")
        ms, rss = measure([binary], dict(env, SQL_FILE=str(big)))
        print(f"{size_mb:.1f} MB / 200,000-statement file: {ms / 1000:.1f} s, peak RSS {rss:.1f} MB "
              f"(target <= 48 MB: {'met' if rss <= 48 else 'NOT met'})")
        mid = pathlib.Path(d) / "mid.sql"
        mid.write_text("".join(f"INSERT INTO bench_t VALUES ({i}, 'n{i}');\n" for i in range(20_000)))
        psql_cmd = [*psql_base, "-q", "-f", str(mid)]
        p_ms = statistics.median(measure(psql_cmd, dict(psql_env))[0] for _ in range(3))
        for label, extra in (("no deadline", {}), ("MAX_RUNTIME_MS=600000", {"MAX_RUNTIME_MS": "600000"})):
            r_ms = statistics.median(measure([binary], dict(env, SQL_FILE=str(mid), **extra))[0] for _ in range(3))
            print(f"20,000 statements, {label}: pg-cron-job {r_ms:.0f} ms vs psql -f {p_ms:.0f} ms: "
                  f"{r_ms / p_ms:.2f}x (target <= 1.05x)")


def export(binary, pg, moto, runner_env, psql_env, psql_base):
    moto.client("s3").create_bucket(Bucket="bench-exports")
    env = dict(runner_env)
    env.pop("SQL")
    for rows in (int(n) for n in os.environ.get("BENCH_EXPORT_ROWS", "1000000,10000000").split(",")):
        query = f"SELECT g AS id, md5(g::text) AS label, g * 1.5 AS amount, now() AS at FROM generate_series(1, {rows}) g"
        ms, rss = measure([binary], dict(env, SQL=query, EXPORT_S3_URI=f"s3://bench-exports/{rows}.csv.gz"))
        with tempfile.TemporaryDirectory() as d:
            out = pathlib.Path(d) / "out.csv.gz"
            copy = f"\\copy ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
            shell = " ".join([*psql_base, "-c", f'"{copy}"']) + f" | gzip > {out}"
            started = time.perf_counter()
            subprocess.run(["bash", "-o", "pipefail", "-c", shell], env=psql_env, check=True)
            p_ms = (time.perf_counter() - started) * 1000
            csv_mb = int(subprocess.run(["bash", "-c", f"gzip -dc {out} | wc -c"], capture_output=True,
                                        text=True, check=True).stdout) / 1e6
        ours, theirs = csv_mb / (ms / 1000), csv_mb / (p_ms / 1000)
        print(f"export {rows:,} rows ({csv_mb:.0f} MB CSV, gzip): pg-cron-job {ours:.1f} MB/s, "
              f"peak RSS {rss:.1f} MB; psql \\copy | gzip {theirs:.1f} MB/s "
              f"(throughput >= psql: {'met' if ours >= theirs else 'NOT met'}; "
              f"RSS <= 64 MB: {'met' if rss <= 64 else 'NOT met'})")


if __name__ == "__main__":
    main()
