#!/usr/bin/env python3
"""`make bench-watchdog JOBS=n`: the watchdog on a fleet of n mixed schedules (daily in Rome,
every minute, hourly, weekdays in New York, monthly, rate(15 minutes)) on the local AWS API
server (moto), the real bootstrap in one-shot mode and in Lambda mode (a warm instance, through
the loopback Runtime API). Every job is declared (SSM) and has run at its recent starts. Prints,
per check: API calls by operation, seconds, judged and unjudged jobs; then the monitoring cost
per job-month computed from those counts and from what the modules create (see COSTS below).
LOAD=k runs k busy processes beside the checks (a loaded 2-core machine). Not a test: the
figures of the README's "Monitoring at scale"."""
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parents[1] / "import"))
from harness import MotoServer, RuntimeApi, run_oneshot  # noqa: E402
from scheduler import Cron  # noqa: E402

ROOT = HERE.parents[2]
JOBS = int(os.environ.get("JOBS", "200"))
LOAD = int(os.environ.get("LOAD", "0"))
FLEET = "bench-wd"
ROLE = "arn:aws:iam::123456789012:role/scheduler"
MIXED = [("cron(30 2 * * ? *)", "Europe/Rome"), ("cron(* * * * ? *)", "UTC"), ("cron(0 * * * ? *)", "UTC"),
         ("cron(0 6 ? * MON-FRI *)", "America/New_York"), ("cron(0 4 1 * ? *)", "UTC"), ("rate(15 minutes)", "UTC")]
CHECKS_PER_MONTH = 8_640  # every 5 minutes, 30 days
HOURS_PER_MONTH = 730

# AWS list prices, us-east-1 (https://aws.amazon.com/cloudwatch/pricing/,
# https://aws.amazon.com/lambda/pricing/): custom metric $0.30 a month (first 10,000; billed by
# the hour it receives data), standard alarm $0.10 a month, GetMetricData $0.01 per 1,000
# metrics requested, log ingestion $0.50 per GB, Lambda $0.0000166667 per GB-second and $0.20
# per million requests. EventBridge Scheduler charges invocations, not API calls; standard SSM
# parameters and their API calls are free; AWS's own Lambda metrics are free.
COSTS = {"metric_month": 0.30, "alarm_month": 0.10, "gmd_metric": 0.01 / 1000, "log_gb": 0.50,
         "lambda_gb_s": 0.0000166667, "lambda_request": 0.20 / 1_000_000}
# What the modules create (modules/pg_cron_job/monitoring.tf, pg_cron_job_shared/watchdog.tf):
# per job a late and a failed alarm; per fleet the watchdog's errors, not-running, unjudged and
# the failures-queue alarm.
ALARMS_PER_JOB = 2
FLEET_ALARMS = 4
# Metrics: the runner's "job finished" line has 7 (Runs, Succeeded, Failed, Skipped, Partial,
# DurationMs, RowsAffected; dimension Job) for every hour a job runs in; the watchdog's "job
# state" line 2 (Late, LateSeconds) every check; its "fleet state" line 5 (dimension Fleet).
RUNNER_METRICS, WATCHDOG_JOB_METRICS, FLEET_METRICS = 7, 2, 5
JOB_FINISHED_BYTES = 700  # one "job finished" line, measured in test/integration
WATCHDOG_MEMORY_GB = 256 / 1024


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hours_with_runs(expr: str) -> float:
    """Hours a month in which the job runs (its runner metrics are billed for those)."""
    return {"cron(30 2 * * ? *)": 30.4, "cron(* * * * ? *)": HOURS_PER_MONTH, "cron(0 * * * ? *)": HOURS_PER_MONTH,
            "cron(0 6 ? * MON-FRI *)": 21.7, "cron(0 4 1 * ? *)": 1, "rate(15 minutes)": HOURS_PER_MONTH}[expr]


def runs_per_month(expr: str) -> float:
    return {"cron(30 2 * * ? *)": 30.4, "cron(* * * * ? *)": 43_800, "cron(0 * * * ? *)": 730,
            "cron(0 6 ? * MON-FRI *)": 21.7, "cron(0 4 1 * ? *)": 1, "rate(15 minutes)": 2_920}[expr]


def build_fleet(moto):
    sched, ssm, cw = moto.client("scheduler"), moto.client("ssm"), moto.client("cloudwatch")
    sched.create_schedule_group(Name=FLEET)
    jobs = {}
    for i in range(JOBS):
        expr, zone = MIXED[i % len(MIXED)]
        name = f"{FLEET}-j{i:04d}"
        sched.create_schedule(
            Name=name, GroupName=FLEET, ScheduleExpression=expr, ScheduleExpressionTimezone=zone,
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}", "RoleArn": ROLE,
                    "Input": json.dumps({"id": "<aws.scheduler.execution-id>", "watch": {
                        "fleet": FLEET, "job": name, "grace_seconds": 300, "timeout_seconds": 300}})})
        jobs[name] = (expr, zone)
    items = sorted((j, f"{FLEET}/{j}") for j in jobs)
    for k in range(0, len(items), 20):
        ssm.put_parameter(Name=f"/pg-cron-job/{FLEET}/declared/{k // 20:03d}", Type="String",
                          Value=json.dumps(dict(items[k:k + 20])))
    return jobs, cw


def put_recent_runs(cw, jobs, since, at):
    """Each job ran at its starts before `at` (the every-minute ones in the last half hour),
    stamped at the start, as the runner stamps them."""
    data = []
    for job, (expr, zone) in jobs.items():
        frm = at - (timedelta(minutes=30) if expr in ("cron(* * * * ? *)", "rate(15 minutes)") else timedelta(days=3))
        if expr.startswith("rate("):  # followed from its runs: one every 15 minutes
            starts = [frm + timedelta(minutes=15 * k) for k in range(3)]
        else:
            starts = Cron(expr).fire_times(max(since, frm), ZoneInfo(zone), 2_000)
        for t in starts:
            if t > at:
                break
            data.append({"MetricName": "Runs", "Dimensions": [{"Name": "Job", "Value": job}],
                         "Timestamp": t, "Value": 1, "Unit": "Count"})
    for k in range(0, len(data), 1000):
        cw.put_metric_data(Namespace="PgCronJob", MetricData=data[k:k + 1000])
    return len(data)


def summary(label, result, seconds):
    calls = result["api_calls"]
    counts = result["counts"]
    print(f"{label}: {seconds:.2f} s, judged {result['judged']}, unjudged {len(result['unjudged'])}, "
          f"states {json.dumps(counts, sort_keys=True)}, calls {json.dumps(calls, sort_keys=True)}", flush=True)


def cost_table(jobs, per_check_metrics, log_bytes_per_check, seconds_per_check, label="mixed"):
    n = len(jobs)
    exprs = [e for e, _ in jobs.values()]
    runner_metric_months = sum(RUNNER_METRICS * hours_with_runs(e) / HOURS_PER_MONTH for e in exprs)
    rows = {
        "alarms (2 per job + 4 per fleet)": (ALARMS_PER_JOB * n + FLEET_ALARMS) * COSTS["alarm_month"],
        "runner metrics (7, hours with runs)": runner_metric_months * COSTS["metric_month"],
        "watchdog job metrics (Late, LateSeconds)": WATCHDOG_JOB_METRICS * n * COSTS["metric_month"],
        "watchdog fleet metrics (5)": FLEET_METRICS * COSTS["metric_month"],
        "GetMetricData (metrics requested)": per_check_metrics * CHECKS_PER_MONTH * COSTS["gmd_metric"],
        "logs (watchdog lines + job finished lines)":
            (log_bytes_per_check * CHECKS_PER_MONTH + sum(runs_per_month(e) for e in exprs) * JOB_FINISHED_BYTES)
            / 1e9 * COSTS["log_gb"],
        "watchdog compute (256 MB)": CHECKS_PER_MONTH * (seconds_per_check * WATCHDOG_MEMORY_GB * COSTS["lambda_gb_s"]
                                                         + COSTS["lambda_request"]),
    }
    total = sum(rows.values())
    print(f"\nmonitoring cost, {n} {label} jobs (USD a month, and per job-month):")
    for k, v in rows.items():
        print(f"  {k:45s} {v:10.2f}  {v / n:8.4f}")
    print(f"  {'total':45s} {total:10.2f}  {total / n:8.4f}")


def main() -> int:
    binary = os.environ.get("PG_CRON_JOB_BIN") or str(ROOT / ".build" / "x86_64" / "bin" / "bootstrap")
    if not pathlib.Path(binary).is_file():
        print(f"no bootstrap at {binary}: run make build first")
        return 1
    load = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(LOAD)]
    moto = MotoServer(ROOT / ".venv" / "bin")
    try:
        started = time.monotonic()
        jobs, cw = build_fleet(moto)
        print(f"{JOBS} jobs created on the local AWS API server in {time.monotonic() - started:.0f} s"
              f"{f', {LOAD} busy processes beside' if LOAD else ''}", flush=True)
        env = {**moto.env(), "_HANDLER": "watchdog", "WATCH_FLEET": FLEET, "WATCH_SCHEDULE_GROUPS": FLEET,
               "WATCH_DECLARED_PATH": f"/pg-cron-job/{FLEET}/declared"}
        first = run_oneshot(binary, env, timeout=600)
        since = datetime.fromisoformat(json.loads(first.stdout.strip().splitlines()[-1])["jobs"][0]["since"]
                                       .replace("Z", "+00:00"))
        # Two days on: every daily, hourly, weekday and every-minute job has judged starts at its
        # real lookback (moto's GetMetricData walks every period of a query's range through every
        # stored data point, so months of minutes do not fit in a bench; the monthly jobs' long
        # lookbacks are judged by test/integration's 1,000-job test).
        at = since + timedelta(days=2, hours=3)
        print(f"{put_recent_runs(cw, jobs, since, at)} runs put", flush=True)
        times, result, log_bytes = [], None, 0
        for _ in range(1):
            t0 = time.monotonic()
            r = run_oneshot(binary, env, json.dumps({"at": iso(at)}), timeout=600)
            times.append(time.monotonic() - t0)
            if r.code != 0:
                print(f"check failed (exit {r.code}): {r.stderr[-2000:]}")
                return 1
            result = json.loads(r.stdout.strip().splitlines()[-1])
        summary("one-shot check, two days on", result, statistics.median(times))
        # A real check publishes: its log size (the watchdog's EMF lines) per check.
        r = run_oneshot(binary, env, timeout=600)
        log_bytes = len(r.stderr.encode())
        # Lambda mode: the warm instance's second check reads no unchanged schedule.
        api = RuntimeApi()
        try:
            api.start_bootstrap(binary, env, function_name=f"{FLEET}-watchdog")
            for label in ("Lambda mode, cold check", "Lambda mode, warm check"):
                t0 = time.monotonic()
                kind, body = api.invoke({"at": iso(at)}, timeout_s=600)
                if kind != "response":
                    print(f"{label} failed: {body}")
                    return 1
                summary(label, body, time.monotonic() - t0)
                warm_seconds = time.monotonic() - t0
        finally:
            api.stop()
        cost_table(jobs, result["api_calls"]["GetMetricDataMetrics"], log_bytes, warm_seconds)
        # The same fleet size, every job daily (the common case): one metric requested per job
        # and check, the same log lines per job.
        daily = {j: ("cron(30 2 * * ? *)", "Europe/Rome") for j in jobs}
        cost_table(daily, len(daily), log_bytes, warm_seconds, "daily")
        for n in (20, 300, 1000):
            scale = n / len(jobs)
            sized = {f"j{i}": MIXED[i % len(MIXED)] for i in range(n)}
            cost_table(sized, result["api_calls"]["GetMetricDataMetrics"] * scale, log_bytes * scale, warm_seconds * scale)
        return 0
    finally:
        moto.stop()
        for p in load:
            p.kill()


if __name__ == "__main__":
    sys.exit(main())
