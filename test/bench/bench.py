#!/usr/bin/env python3
"""Cold one-shot run of the shipped bootstrap (secret fetch from moto + TLS verify-full connect +
SELECT 1) against psql doing the TLS connect + SELECT 1 alone, on the same local server.
Prints median wall time, peak RSS and the ratio. Targets: within 1.5x of psql, peak RSS <= 32 MB."""
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
    finally:
        moto.stop()
        pg.stop()


if __name__ == "__main__":
    main()
