"""The watchdog program (handler `watchdog`) in one-shot mode against the real AWS SDK and a
local AWS API server (moto) on loopback: schedules created in its Scheduler, runs put in its
CloudWatch as the runner's Embedded Metric Format line would put them (moto does not extract
metrics from logs, so the test calls PutMetricData itself, stamped at the run's start).
Expected start times come from the import tests' Python Scheduler evaluator, not from the Rust
evaluator under test."""
import json
import pathlib
import sys
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from harness import run_oneshot

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "import"))
from scheduler import Cron  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/scheduler"


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def fleet(moto):
    """A fleet name, its own schedule group, and a helper that creates a job's schedule."""
    name = "wd-" + uuid.uuid4().hex[:6]
    sched = moto.client("scheduler")
    sched.create_schedule_group(Name=name)

    def job(key, expression, zone="UTC", state="ENABLED", watch=None, flexible=None, target="lambda"):
        arn = (f"arn:aws:lambda:us-east-1:123456789012:function:{name}-{key}" if target == "lambda"
               else f"arn:aws:sqs:us-east-1:123456789012:{name}-{key}")
        w = {"fleet": name, "job": f"{name}-{key}", "grace_seconds": 300, "timeout_seconds": 300}
        if watch is not None:
            w = watch
        sched.create_schedule(
            Name=f"{name}-{key}", GroupName=name, ScheduleExpression=expression, ScheduleExpressionTimezone=zone,
            State=state,
            FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": flexible} if flexible else {"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": ROLE, "Input": json.dumps({"id": "<aws.scheduler.execution-id>", "watch": w})})
        return f"{name}-{key}"

    yield name, job


def watchdog(binary, moto, fleet_name, *args, **extra):
    env = {**moto.env(), "_HANDLER": "watchdog", "WATCH_FLEET": fleet_name, "WATCH_SCHEDULE_GROUPS": fleet_name, **extra}
    return run_oneshot(binary, env, *args)


def put_run(moto, job, started):
    moto.client("cloudwatch").put_metric_data(Namespace="PgCronJob", MetricData=[{
        "MetricName": "Runs", "Dimensions": [{"Name": "Job", "Value": job}],
        "Timestamp": started, "Value": 1, "Unit": "Count"}])


def states(result):
    assert result.code in (0, 1), result
    body = json.loads(result.stdout.strip().splitlines()[-1])
    return body, {s["job"]: s for s in body["jobs"]}


def test_new_jobs_do_not_page_and_others_are_not_watched(binary, moto, fleet):
    name, job = fleet
    daily = job("daily", "cron(30 2 * * ? *)", "Europe/Rome")
    weekdays = job("weekdays", "cron(0 6 ? * MON-FRI *)", "America/New_York")
    paused = job("paused", "cron(0 3 * * ? *)", state="DISABLED")
    job("other-fleet", "cron(0 4 * * ? *)", watch={"fleet": "someone-else", "job": "x"})
    job("queue", "rate(5 minutes)", target="sqs")
    result = watchdog(binary, moto, name)
    assert result.code == 0, result
    body, by_job = states(result)
    assert set(by_job) == {daily, weekdays, paused}, body
    assert by_job[daily]["state"] == "new" and by_job[weekdays]["state"] == "new"
    assert by_job[paused]["state"] == "paused"
    assert body["counts"] == {"new": 2, "paused": 1} and body["unchecked"] == []
    # A real check publishes one EMF line per job, Late = 0.
    lines = [json.loads(l) for l in result.stderr.splitlines() if '"job state"' in l]
    assert sorted(l["Job"] for l in lines) == sorted(by_job), result.stderr
    assert {l["Late"] for l in lines} == {0}
    metric = lines[0]["_aws"]["CloudWatchMetrics"][0]
    assert metric["Namespace"] == "PgCronJob" and metric["Dimensions"] == [["Job"]]
    assert [m["Name"] for m in metric["Metrics"]] == ["Late", "LateSeconds"]


def test_a_missed_start_is_late_until_the_next_run_starts(binary, moto, fleet):
    name, job = fleet
    daily = job("daily", "cron(30 2 * * ? *)", "Europe/Rome", flexible=10)
    body, by_job = states(watchdog(binary, moto, name))
    s = by_job[daily]
    since = datetime.fromisoformat(s["since"].replace("Z", "+00:00"))
    s1, s2, s3 = Cron("cron(30 2 * * ? *)").fire_times(since, ZoneInfo("Europe/Rome"), 3)
    # Grace: Scheduler's minute + the flexible window + grace_minutes; then the timeout.
    assert s["start_window_seconds"] == 60 + 600 + 300 and s["allowance_seconds"] == 60 + 600 + 300 + 300
    allowance = timedelta(seconds=s["allowance_seconds"])
    put_run(moto, daily, s1 + timedelta(seconds=50, minutes=9))  # late in the flexible window
    before = iso(s2 + allowance - timedelta(minutes=1))
    after = iso(s2 + allowance + timedelta(minutes=4))
    _, by_job = states(watchdog(binary, moto, name, json.dumps({"at": before})))
    assert by_job[daily]["state"] == "up", by_job[daily]
    result = watchdog(binary, moto, name, json.dumps({"at": after}))
    _, by_job = states(result)
    assert by_job[daily]["state"] == "late" and by_job[daily]["missed"] == iso(s2), by_job[daily]
    assert '"job state"' not in result.stderr, "a preview publishes nothing"
    # Still late a day later, just before the next run, and up as soon as it has started.
    put_run(moto, daily, s3 + timedelta(seconds=30))
    _, by_job = states(watchdog(binary, moto, name, json.dumps({"at": iso(s3 - timedelta(minutes=1))})))
    assert by_job[daily]["state"] == "late"
    _, by_job = states(watchdog(binary, moto, name, json.dumps({"at": iso(s3 + timedelta(minutes=2))})))
    assert by_job[daily]["state"] == "up" and by_job[daily]["last_run"] == iso(s3), by_job[daily]


def test_a_bad_watch_object_fails_the_check_naming_the_schedule(binary, moto, fleet):
    name, job = fleet
    good = job("good", "cron(0 3 * * ? *)")
    job("typo", "cron(0 3 * * ? *)", watch={"fleet": name, "job": "t", "grace_minutes": 5})
    result = watchdog(binary, moto, name)
    assert result.code == 1, result
    body, by_job = states(result)
    assert set(by_job) == {good}
    assert len(body["unchecked"]) == 1 and f"{name}/{name}-typo" in body["unchecked"][0], body
    assert "grace_minutes" in result.stderr and "could not be checked" in result.stderr


def test_configuration_errors_exit_2_naming_the_variable(binary, moto):
    result = run_oneshot(binary, {**moto.env(), "_HANDLER": "watchdog"})
    assert result.code == 2 and "WATCH_FLEET is required" in result.stderr, result
    result = run_oneshot(binary, {**moto.env(), "_HANDLER": "watchdog", "WATCH_FLEET": "f", "WATCH_PERIOD_SECONDS": "5"})
    assert result.code == 2 and "WATCH_PERIOD_SECONDS" in result.stderr, result
    result = run_oneshot(binary, {**moto.env(), "_HANDLER": "watchdog", "WATCH_FLEET": "f"}, '{"at": "soon"}')
    assert result.code == 2 and '"soon"' in result.stderr, result


def test_a_rate_without_start_date_follows_its_runs(binary, moto, fleet):
    """Scheduler counts such a rate from a moment its API does not give: the next start is due a
    rate after the latest run (after the schedule's creation before the first run)."""
    name, job = fleet
    hourly = job("hourly", "rate(1 hour)")
    _, by_job = states(watchdog(binary, moto, name))
    since = datetime.fromisoformat(by_job[hourly]["since"].replace("Z", "+00:00"))
    allowance = timedelta(seconds=by_job[hourly]["allowance_seconds"])
    # Whatever phase Scheduler picked (here 23 minutes after creation): up while runs come.
    runs = [since + timedelta(minutes=23, seconds=10) + timedelta(hours=h) for h in range(3)]
    for r in runs:
        put_run(moto, hourly, r)
    last_minute_end = runs[-1].replace(second=0) + timedelta(minutes=1)
    due = last_minute_end + timedelta(hours=1)
    _, by_job = states(watchdog(binary, moto, name, json.dumps({"at": iso(due + allowance - timedelta(minutes=1))})))
    assert by_job[hourly]["state"] == "up", by_job[hourly]
    # The job stopped: late once a rate plus the allowance has passed since the latest run.
    _, by_job = states(watchdog(binary, moto, name, json.dumps({"at": iso(due + allowance + timedelta(minutes=1))})))
    assert by_job[hourly]["state"] == "late", by_job[hourly]
