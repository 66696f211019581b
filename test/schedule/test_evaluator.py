"""The schedule evaluator (lambda/schedule, through `pg-cron-job schedule next`) against an
independent implementation written from the Scheduler documentation (test/import/scheduler.py,
Python's zoneinfo): thousands of random cron() expressions in zones with daylight saving time,
30-minute shifts, a skipped day and abolished DST, over several years; plus rate(), at() and
refusals by hand."""
import pathlib
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "import"))
from scheduler import Cron  # noqa: E402

ZONES = ["UTC", "Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia",
         "America/Sao_Paulo", "Asia/Kolkata", "Europe/London", "Pacific/Chatham", "America/Santiago"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
COUNT = 40


def next_starts(cli, expr, zone, after, count=COUNT):
    proc = subprocess.run([cli, "schedule", "next", expr, "--timezone", zone, "--after", after,
                           "--count", str(count)], capture_output=True, text=True, timeout=60)
    return proc


def field(rng, lo, hi, names=None):
    kind = rng.choice(["*", "value", "list", "range", "step", "range_step", "name"] if names else
                      ["*", "value", "list", "range", "step", "range_step"])
    v = lambda: rng.randint(lo, hi)  # noqa: E731
    if kind == "*":
        return "*"
    if kind == "value":
        return str(v())
    if kind == "name":
        return names[rng.randint(lo, hi) - lo]
    if kind == "list":
        return ",".join(str(v()) for _ in range(rng.randint(2, 4)))
    a, b = sorted((v(), v()))
    if kind == "range":
        return f"{a}-{b}"
    if kind == "step":
        return f"{rng.choice(['*', str(a)])}/{rng.randint(1, max(1, (hi - lo) // 2))}"
    return f"{a}-{b}/{rng.randint(1, 5)}"


def random_cron(rng):
    minutes = field(rng, 0, 59)
    hours = field(rng, 0, 23)
    month = field(rng, 1, 12, MONTHS)
    year = rng.choice(["*", "*", "2026-2030", "2027,2029"])
    if rng.random() < 0.5:
        dom = rng.choice([field(rng, 1, 31), "L", "LW", f"{rng.randint(1, 31)}W", "*"])
        dow = "?"
    else:
        dom = "?"
        dow = rng.choice([field(rng, 1, 7, DAYS), "L", f"{rng.randint(1, 7)}L",
                          f"{rng.randint(1, 7)}#{rng.randint(1, 5)}", "*"])
    return f"cron({minutes} {hours} {dom} {month} {dow} {year})"


def python_starts(expr, zone, after, count=COUNT):
    start = datetime.fromisoformat(after.replace("Z", "+00:00"))
    return [t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            for t in Cron(expr).fire_times(start, ZoneInfo(zone), count)]


@pytest.mark.parametrize("seed", range(8))
def test_random_cron_expressions_match_the_reference(cli, seed):
    rng = random.Random(seed)
    compared = 0
    for _ in range(250):
        expr = random_cron(rng)
        zone = rng.choice(ZONES)
        # Around the DST changes of 2026 and 2027 more often than not.
        base = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=rng.randint(0, 2 * 365 * 1440))
        after = base.strftime("%Y-%m-%dT%H:%M:%SZ")
        proc = next_starts(cli, expr, zone, after)
        assert proc.returncode == 0, f"{expr} in {zone}: {proc.stderr}"
        got = [line.split(" ")[0] for line in proc.stdout.splitlines()]
        want = python_starts(expr, zone, after)
        assert got == want, f"{expr} in {zone} after {after}:\n  rust   {got[:5]}\n  python {want[:5]}"
        compared += 1
    assert compared == 250


def test_local_time_is_printed_with_its_offset(cli):
    proc = next_starts(cli, "cron(30 2 * * ? *)", "Europe/Rome", "2026-03-27T12:00:00Z", 2)
    assert proc.stdout.splitlines() == ["2026-03-28T01:30:00Z 2026-03-28T02:30:00+01:00",
                                        "2026-03-30T00:30:00Z 2026-03-30T02:30:00+02:00"], proc.stdout


@pytest.mark.parametrize("expr,zone,after,want", [
    # rate(): a fixed interval from --after (24 hours, not a calendar day, across the autumn change).
    ("rate(1 day)", "Europe/Rome", "2026-10-24T10:00:00Z", ["2026-10-25T10:00:00Z", "2026-10-26T10:00:00Z"]),
    ("rate(90 minutes)", "UTC", "2026-01-01T00:00:00Z", ["2026-01-01T01:30:00Z", "2026-01-01T03:00:00Z"]),
    # at(): once, local time (a repeated local time at its first occurrence).
    ("at(2026-12-24T18:00:00)", "Europe/Rome", "2026-01-01T00:00:00Z", ["2026-12-24T17:00:00Z"]),
    ("at(2026-10-25T02:30:00)", "Europe/Rome", "2026-01-01T00:00:00Z", ["2026-10-25T00:30:00Z"]),
    # Pacific/Apia skipped 30 December 2011; Australia/Lord_Howe's fold is 30 minutes long.
    ("cron(0 12 * * ? *)", "Pacific/Apia", "2011-12-28T00:00:00Z",
     ["2011-12-28T22:00:00Z", "2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z"]),
    ("cron(45 1 * * ? *)", "Australia/Lord_Howe", "2026-04-03T00:00:00Z",
     ["2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]),
])
def test_hand_checked_cases(cli, expr, zone, after, want):
    proc = next_starts(cli, expr, zone, after, len(want) or 3)
    assert proc.returncode == 0, proc.stderr
    assert [line.split(" ")[0] for line in proc.stdout.splitlines()] == want


@pytest.mark.parametrize("expr,zone,needle", [
    ("cron(0 2 * * *)", "UTC", "6 fields"),
    ("cron(0 2 * * MON *)", "UTC", "one of them must be ?"),
    ("cron(61 2 * * ? *)", "UTC", "61 is outside 0-59"),
    ("rate(5 minute)", "UTC", "rate(5 minute)"),
    ("cron(0 2 * * ? *)", "Mars/Olympus", "not an IANA time zone"),
    # A local time the clocks skip: Scheduler would never start it (it used to preview as nothing).
    ("at(2026-03-29T02:30:00)", "Europe/Rome", "never happens in Europe/Rome: the clocks go from 02:00:00 to 03:00:00"),
])
def test_invalid_expressions_exit_2_with_the_reason(cli, expr, zone, needle):
    proc = next_starts(cli, expr, zone, "2026-01-01T00:00:00Z", 1)
    assert proc.returncode == 2 and needle in proc.stderr, proc
