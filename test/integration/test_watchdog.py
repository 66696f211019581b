"""The watchdog program (handler `watchdog`) in one-shot mode against the real AWS SDK and a
local AWS API server (moto) on loopback: schedules created in its Scheduler, runs put in its
CloudWatch as the runner's Embedded Metric Format line would put them (moto does not extract
metrics from logs, so the test calls PutMetricData itself, stamped at the run's start).
Expected start times come from the import tests' Python Scheduler evaluator, not from the Rust
evaluator under test."""
import json
import time
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


def fleet_line(result):
    lines = [json.loads(l) for l in result.stderr.splitlines() if '"fleet state"' in l]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_bad_watch_object_leaves_only_its_schedule_unjudged(binary, moto, fleet):
    name, job = fleet
    good = job("good", "cron(0 3 * * ? *)")
    job("typo", "cron(0 3 * * ? *)", watch={"fleet": name, "job": f"{name}-t", "grace_minutes": 5})
    result = watchdog(binary, moto, name)
    assert result.code == 0, result
    body, by_job = states(result)
    assert set(by_job) == {good} and body["judged"] == 1
    assert len(body["unjudged"]) == 1, body
    u = body["unjudged"][0]
    assert u["job"] == f"{name}-t" and u["schedule"] == f"{name}/{name}-typo" and "grace_minutes" in u["why"], u
    assert "jobs not judged" in result.stderr and "grace_minutes" in result.stderr
    line = fleet_line(result)
    assert (line["Fleet"], line["JudgedJobs"], line["UnjudgedJobs"]) == (name, 1, 1), line
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Fleet"]]


def declare(moto, fleet_name, jobs, per_parameter=2):
    """The declared jobs as the shared module writes them: chunks under one SSM path."""
    ssm = moto.client("ssm")
    path = f"/pg-cron-job/{fleet_name}/declared"
    items = sorted(jobs.items())
    for i in range(0, len(items), per_parameter):
        ssm.put_parameter(Name=f"{path}/{i // per_parameter:03d}", Type="String", Overwrite=True,
                          Value=json.dumps(dict(items[i:i + per_parameter])))
    return path


def test_a_declared_job_whose_schedule_is_deleted_or_unwatched_is_missing(binary, moto, fleet):
    name, job = fleet
    kept = job("kept", "cron(0 3 * * ? *)")
    deleted = job("deleted", "cron(0 4 * * ? *)")
    unwatched = job("unwatched", "cron(0 5 * * ? *)", watch={"fleet": "someone-else", "job": "x"})
    never = f"{name}-never-created"
    path = declare(moto, name, {j: f"{name}/{j}" for j in (kept, deleted, unwatched, never)})
    result = watchdog(binary, moto, name, WATCH_DECLARED_PATH=path)
    assert result.code == 0, result
    body, by_job = states(result)
    assert by_job[kept]["state"] == "new" and by_job[deleted]["state"] == "new"
    assert by_job[unwatched]["state"] == "missing" and by_job[never]["state"] == "missing", body
    assert "watch object" in by_job[unwatched]["why"]
    # Deleted in the console (the Scheduler API): missing at the next check, paged as late.
    moto.client("scheduler").delete_schedule(Name=deleted, GroupName=name)
    result = watchdog(binary, moto, name, WATCH_DECLARED_PATH=path)
    assert result.code == 0, result
    body, by_job = states(result)
    assert by_job[deleted]["state"] == "missing" and body["counts"] == {"new": 1, "missing": 3}, body
    lines = {l["Job"]: l for l in map(json.loads, (l for l in result.stderr.splitlines() if '"job state"' in l))}
    assert lines[deleted]["Late"] == 1 and lines[kept]["Late"] == 0
    assert fleet_line(result)["MissingJobs"] == 3
    assert body["api_calls"]["GetParametersByPath"] == 1  # two parameters: one page (10 a page)


def test_a_job_whose_runs_cannot_be_read_is_unjudged_and_the_others_still_judged(binary, moto, fleet):
    """CloudWatch refuses connections (its endpoint alone points at a closed loopback port): the
    jobs are listed and named as unjudged, exit 0; nothing is published as late."""
    import socket
    name, job = fleet
    daily = job("daily", "cron(0 3 * * ? *)")
    path = declare(moto, name, {daily: f"{name}/{daily}"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    result = watchdog(binary, moto, name, WATCH_DECLARED_PATH=path,
                      AWS_ENDPOINT_URL_CLOUDWATCH=f"http://127.0.0.1:{closed}")
    assert result.code == 0, result
    body, by_job = states(result)
    assert by_job == {} and [u["job"] for u in body["unjudged"]] == [daily], body
    assert "CloudWatch" in body["unjudged"][0]["why"], body
    assert body["api_calls"]["GetMetricData"] == 1
    assert '"job state"' not in result.stderr and fleet_line(result)["UnjudgedJobs"] == 1


def put_runs(moto, runs):
    """Many runs at once (PutMetricData takes up to 1,000 data points a call)."""
    cw = moto.client("cloudwatch")
    data = [{"MetricName": "Runs", "Dimensions": [{"Name": "Job", "Value": j}], "Timestamp": t, "Value": 1,
             "Unit": "Count"} for j, t in runs]
    for i in range(0, len(data), 1000):
        cw.put_metric_data(Namespace="PgCronJob", MetricData=data[i:i + 1000])


MIXED = [("cron(30 2 * * ? *)", "Europe/Rome"), ("cron(* * * * ? *)", "UTC"), ("cron(0 * * * ? *)", "UTC"),
         ("cron(0 6 ? * MON-FRI *)", "America/New_York"), ("cron(0 4 1 * ? *)", "UTC"), ("rate(15 minutes)", "UTC")]


@pytest.mark.parametrize("shape", ["200 daily + 1 monthly", "1000 mixed"])
def test_a_large_fleet_is_judged_in_one_check_every_job(binary, moto, fleet, shape):
    """The fleet-scale case: each job's evidence reaches back its own distance (a monthly job a
    month, an every-minute job minutes), within GetMetricData's limits per call, so the check
    judges every job; a preview weeks later (every start judged, lookbacks at their longest)
    too."""
    name, job = fleet
    if shape == "1000 mixed":
        jobs = [job(f"j{i:04d}", *MIXED[i % len(MIXED)]) for i in range(1000)]
    else:
        jobs = [job(f"d{i:03d}", "cron(30 2 * * ? *)", "Europe/Rome") for i in range(200)]
        jobs.append(job("monthly", "cron(0 4 1 * ? *)"))
    result = watchdog(binary, moto, name)
    assert result.code == 0, result.stderr[-2000:]
    body, by_job = states(result)
    assert body["judged"] == len(jobs) and body["unjudged"] == [] and set(by_job) == set(jobs)
    since = datetime.fromisoformat(by_job[jobs[0]]["since"].replace("Z", "+00:00"))
    # Runs for every job at its first starts after creation (the every-minute ones for an hour).
    runs = []
    for j in jobs:
        expr, zone = by_job[j]["expression"], by_job[j]["timezone"]
        if expr.startswith("cron("):
            n = 60 if expr == "cron(* * * * ? *)" else 1
            runs += [(j, t) for t in Cron(expr).fire_times(since, ZoneInfo(zone), n)]
    put_runs(moto, runs)
    # 40 days later: the monthly job's run (1st of the month) is two weeks old, in CloudWatch's
    # 5-minute data; the every-minute jobs need minutes.
    later = iso(since + timedelta(days=40))
    result = watchdog(binary, moto, name, json.dumps({"at": later}))
    assert result.code == 0, result.stderr[-2000:]
    body, by_job = states(result)
    assert body["judged"] == len(jobs) and body["unjudged"] == [], body["unjudged"][:3]
    # Nobody ran since their first starts: late (the rates follow their runs), whatever the
    # schedule; the monthly job's only start since creation ran.
    for j in jobs:
        want = "up" if by_job[j]["expression"] == "cron(0 4 1 * ? *)" else "late"
        assert by_job[j]["state"] == want, by_job[j]
    calls = body["api_calls"]
    print(f"{shape}: {calls}")  # the README's "Monitoring at scale" figures
    # One GetSchedule per job (a new process: nothing cached); GetMetricData planned within its
    # limits: a few calls, not one per job.
    assert calls["GetSchedule"] == len(jobs) and calls["GetMetricData"] <= 12, calls


def test_a_warm_watchdog_reads_only_the_schedules_that_changed(binary, moto, fleet):
    """Lambda mode (the loopback Runtime API): the second check of a warm instance reads no
    schedule again (ListSchedules gives each one's last modification); one updated in between is
    read again, and its change is what is judged."""
    from harness import RuntimeApi
    name, job = fleet
    a = job("a", "cron(0 3 * * ? *)")
    job("b", "cron(0 4 * * ? *)")
    api = RuntimeApi()
    try:
        api.start_bootstrap(binary, {**moto.env(), "_HANDLER": "watchdog", "WATCH_FLEET": name,
                                     "WATCH_SCHEDULE_GROUPS": name}, function_name=f"{name}-watchdog")
        kind, first = api.invoke({})
        assert kind == "response", first
        assert first["api_calls"]["GetSchedule"] == 2 and first["judged"] == 2
        kind, second = api.invoke({})
        assert kind == "response" and second["api_calls"]["GetSchedule"] == 0, second["api_calls"]
        sched = moto.client("scheduler")
        current = sched.get_schedule(Name=a, GroupName=name)
        time.sleep(1.1)  # a later last-modification second
        sched.update_schedule(Name=a, GroupName=name, ScheduleExpression="cron(0 5 * * ? *)",
                              ScheduleExpressionTimezone="UTC", FlexibleTimeWindow={"Mode": "OFF"},
                              State="DISABLED", Target=current["Target"])
        kind, third = api.invoke({})
        assert kind == "response" and third["api_calls"]["GetSchedule"] == 1, third["api_calls"]
        by_job = {s["job"]: s for s in third["jobs"]}
        assert by_job[a]["state"] == "paused" and by_job[a]["expression"] == "cron(0 5 * * ? *)"
    finally:
        api.stop()


def test_runs_scheduled_by_other_zone_data_or_a_wide_window_never_page_after_the_first(binary, moto, fleet):
    """Runs are stamped at the time Scheduler meant (the runner does it from the event's
    scheduled_time; here PutMetricData at that time). A zone whose rules differ between our
    bundled IANA data and Scheduler's runs an hour off: its first such start pages (nothing can
    tell it from a missed run before the run comes), then the job is `drift`, not late, and is
    expected that hour later. A 5-minute cron with a 15-minute window whose runs come out of
    order is up."""
    name, job = fleet
    daily = job("daily", "cron(30 2 * * ? *)", "Europe/Rome")
    frequent = job("frequent", "cron(0/5 * * * ? *)", flexible=15)
    _, by_job = states(watchdog(binary, moto, name))
    since = datetime.fromisoformat(by_job[daily]["since"].replace("Z", "+00:00"))
    allowance = timedelta(seconds=by_job[daily]["allowance_seconds"])
    s1, s2 = Cron("cron(30 2 * * ? *)").fire_times(since, ZoneInfo("Europe/Rome"), 2)
    put_run(moto, daily, s1 + timedelta(hours=1))
    put_run(moto, daily, s2 + timedelta(hours=1))
    at = lambda t: states(watchdog(binary, moto, name, json.dumps({"at": iso(t)})))[1]
    assert at(s1 + allowance + timedelta(minutes=2))[daily]["state"] == "late"
    d = at(s1 + timedelta(hours=1) + allowance + timedelta(minutes=2))[daily]
    assert (d["state"], d["drift_seconds"]) == ("drift", 3600), d
    for t in (s2 + allowance + timedelta(minutes=2), s2 + timedelta(hours=1) + allowance + timedelta(minutes=2)):
        assert at(t)[daily]["state"] == "drift", (t, at(t)[daily])
    # Every 5 minutes, each run up to 15 minutes late: stamped at its own start, all up.
    f_allow = timedelta(seconds=by_job[frequent]["allowance_seconds"])
    starts = Cron("cron(0/5 * * * ? *)").fire_times(since, ZoneInfo("UTC"), 12)
    for t in starts:
        put_run(moto, frequent, t)
    for k in (4, 8, 11):
        assert at(starts[k] + f_allow + timedelta(minutes=1))[frequent]["state"] == "up", k
