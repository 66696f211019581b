"""Property test of the cron translation: for random 5-field crontab expressions, the next 200
fire times of a reference cron implementation (croniter, with Vixie cron's day-field rule) equal
those of the translated EventBridge Scheduler expression(s) under Scheduler's documented
semantics (scheduler.py), in Europe/Rome and America/New_York across daylight-saving changes.
Expressions that cannot be translated exactly must be refused with a reason, and only those."""
import calendar
import json
import os
import pathlib
import random
import re
import subprocess
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from scheduler import Cron, parse_field

N_FIRES = 200
CASES = int(os.environ.get("IMPORT_PROPERTY_CASES", "400"))
SEED = int(os.environ.get("IMPORT_PROPERTY_SEED", "20261129"))

# Transitions (local time) the start points cluster around.
TRANSITIONS = {
    "Europe/Rome": [datetime(2026, 3, 29, 2), datetime(2026, 10, 25, 3), datetime(2027, 3, 28, 2)],
    "America/New_York": [datetime(2026, 3, 8, 2), datetime(2026, 11, 1, 2), datetime(2027, 3, 14, 2)],
}
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def gen_field(rng, lo, hi, names=None, star_weight=4, dense=False):
    """A random crontab field: *, value, range, list, */n, a-b/n, a/n, names.

    Ranges have a < b and use names at both ends or neither: croniter (the reference) misreads
    `a-a` and `12-dec`, which Vixie cron accepts."""
    named = names is not None and rng.random() < 0.3
    top = 6 if names is DAY_NAMES else hi

    def val(v):
        if named and v <= top:
            return names[v - lo] if names is MONTH_NAMES else names[v]
        return str(v)

    def pair():
        a = rng.randint(lo, (top if named else hi) - 1)
        return a, rng.randint(a + 1, top if named else hi)

    kind = rng.choices(
        ["*", "value", "range", "list", "star-step", "range-step", "start-step"],
        weights=[star_weight, 3, 2, 2, 2 if dense else 1, 1, 1],
    )[0]
    if kind == "*":
        return "*"
    if kind == "value":
        return val(rng.randint(lo, top if named else hi))
    if kind == "range":
        a, b = pair()
        return f"{val(a)}-{val(b)}"
    if kind == "list":
        vs = sorted(rng.sample(range(lo, (top if named else hi) + 1), rng.randint(2, min(5, hi - lo + 1))))
        return ",".join(val(v) for v in vs)
    if kind == "star-step":
        return f"*/{rng.randint(2, max(2, (hi - lo) // 2))}"
    if kind == "range-step":
        a, b = pair()
        return f"{a}-{b}/{rng.randint(1, max(1, (hi - lo) // 3))}"
    return f"{rng.randint(lo, hi)}/{rng.randint(2, max(2, (hi - lo) // 3))}"


def gen_expression(rng):
    minute = gen_field(rng, 0, 59, star_weight=1, dense=True)
    hour = gen_field(rng, 0, 23, star_weight=3)
    dom = gen_field(rng, 1, 31, star_weight=8)
    month = gen_field(rng, 1, 12, MONTH_NAMES, star_weight=10)
    dow = gen_field(rng, 0, 7, DAY_NAMES, star_weight=6)
    return f"{minute} {hour} {dom} {month} {dow}"


def vixie_sets(expr):
    """Vixie cron's reading: the day sets and whether the day fields are ORed."""
    minute, hour, dom, month, dow = expr.split()
    names = {n: str(i) for i, n in enumerate(DAY_NAMES)}
    mnames = {n: str(i + 1) for i, n in enumerate(MONTH_NAMES)}

    def subst(text, table):
        for k, v in table.items():
            text = text.replace(k, v)
        return text

    doms = parse_field("dom", dom)
    months = parse_field("month", subst(month, mnames))
    dows = {v % 7 for v in _vixie_dow(subst(dow, names))}
    day_or = not (dom.startswith("*") or dow.startswith("*"))
    return doms, months, dows, day_or


def _vixie_dow(text):
    values = set()
    for item in text.split(","):
        rng, _, step = item.partition("/")
        step = int(step) if step else 1
        if rng == "*":
            a, b = 0, 7
        elif "-" in rng:
            a, b = (int(x) for x in rng.split("-"))
        else:
            a = int(rng)
            b = 7 if "/" in item else a
        values.update(range(a, b + 1, step))
    return values


def expected_refusal(expr):
    """Why an expression has no exact Scheduler equivalent (None when it has one)."""
    dow_field = expr.split()[4]
    for item in dow_field.split(","):
        start, _, step = item.partition("/")
        if step and start != "*" and "-" not in start and (7 - int(start)) % int(step) == 0:
            return "ambiguous"  # cronie reads a/n up to 7 (Sunday again), croniter up to 6
    doms, months, dows, day_or = vixie_sets(expr)
    dom_full, dow_full = doms == set(range(1, 32)), dows == set(range(7))
    if not day_or and not dom_full and not dow_full:
        return "both"  # AND of two restricted day fields
    if day_or and not dom_full and not dow_full:
        return "either"  # OR of two restricted day fields (needs --split-or)
    if dow_full and not (day_or and dom_full) and not any(
        d <= max(calendar.monthrange(2024, m)[1] for m in months) for d in doms
    ):
        return "never"
    return None


def reference(expr, start, tz, count):
    """croniter's next fire times, with Vixie's rule for the day fields."""
    _, _, dom, _, dow = expr.split()
    day_or = not (dom.startswith("*") or dow.startswith("*"))
    it = croniter(expr, start.astimezone(tz), day_or=day_or)
    out = []
    for _ in range(count):
        t = it.get_next(datetime)
        if t.year >= 2200:
            break
        out.append(t.astimezone(timezone.utc))
    return out


def dst_artefact(t, tz):
    """Whether croniter's fire time `t` is one Scheduler leaves out by design: the second pass of
    a repeated local time, or the moment clocks jump forward (croniter moves a non-existent time
    there; Scheduler skips it)."""
    local = t.astimezone(tz)
    naive = local.replace(tzinfo=None)
    if naive.replace(tzinfo=tz, fold=0).astimezone(timezone.utc) != t:
        return True  # the second pass of a repeated local time
    before = (t - timedelta(minutes=1)).astimezone(tz)
    return before.utcoffset() < local.utcoffset()  # t is the instant of a forward jump


def cases():
    rng = random.Random(SEED)
    out = []
    for i in range(CASES):
        zone = ["Europe/Rome", "America/New_York"][i % 2]
        tz = ZoneInfo(zone)
        anchor = rng.choice(TRANSITIONS[zone])
        if rng.random() < 0.6:
            start_local = anchor - timedelta(minutes=rng.randint(0, 240))
        else:
            start_local = anchor - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
        start = start_local.replace(tzinfo=tz).astimezone(timezone.utc)
        out.append((gen_expression(rng), zone, start))
    return out


def test_translations_fire_like_cron(translate):
    all_cases = cases()
    results = translate([c[0] for c in all_cases], "--split-or")
    stats = {"compared": 0, "split": 0, "refused": 0, "dst_differences": 0, "fires": 0}
    failures = []
    for (expr, zone, start), result in zip(all_cases, results):
        tz = ZoneInfo(zone)
        why = expected_refusal(expr)
        if "error" in result:
            stats["refused"] += 1
            assert result["error"].strip(), expr
            if why not in ("both", "never", "ambiguous"):
                failures.append(f"{expr}: refused ({result['error']}) but has an exact translation")
            continue
        if why in ("both", "never", "ambiguous"):
            failures.append(f"{expr}: translated to {result['schedules']} but cron's meaning ({why}) cannot be expressed")
            continue
        schedules = [s["expression"] for s in result["schedules"]]
        if why == "either":
            stats["split"] += 1
            if len(schedules) != 2 or not result["notes"]:
                failures.append(f"{expr}: day-field OR must become two schedules with a note: {result}")
                continue
        got = sorted(set(t for s in schedules for t in Cron(s).fire_times(start, tz, N_FIRES)))[:N_FIRES]
        want = reference(expr, start, tz, N_FIRES)
        horizon = min(got[-1] if got else start, want[-1] if want else start)
        got_w = {t for t in got if t <= horizon}
        want_w = {t for t in want if t <= horizon}
        stats["compared"] += 1
        stats["fires"] += len(got_w)
        extra = sorted(got_w - want_w)
        missing = sorted(want_w - got_w)
        if extra:
            failures.append(f"{expr} in {zone} from {start}: Scheduler fires at {extra[:3]} where cron does not ({schedules})")
        unexplained = [t for t in missing if not dst_artefact(t, tz)]
        stats["dst_differences"] += len(missing) - len(unexplained)
        if unexplained:
            failures.append(f"{expr} in {zone} from {start}: cron fires at {[t.astimezone(tz).isoformat() for t in unexplained[:3]]}, Scheduler does not ({schedules})")
        if len(want) == N_FIRES and len(got_w) < N_FIRES // 2:
            failures.append(f"{expr}: compared only {len(got_w)} fire times")
    print(f"translation property test: {stats}")
    assert not failures, "\n".join(failures[:20])
    # The run must exercise what it claims to.
    assert stats["compared"] >= CASES // 2, stats
    assert stats["refused"] > 0 and stats["split"] > 0 and stats["dst_differences"] > 0, stats


def test_fixed_examples(translate):
    """Examples a reviewer can check by eye."""
    cases = {
        "30 2 * * *": "cron(30 2 * * ? *)",
        "0 3 * * 0": "cron(0 3 ? * 1 *)",
        "0 3 * * 7": "cron(0 3 ? * 1 *)",
        "0 9-17 * * mon-fri": "cron(0 9-17 ? * 2-6 *)",
        "*/10 * * * *": "cron(0/10 * * * ? *)",
        "@daily": "cron(0 0 * * ? *)",
        "@weekly": "cron(0 0 ? * 1 *)",
    }
    results = translate(list(cases))
    for r in results:
        assert r["schedules"][0]["expression"] == cases[r["input"]], r


@pytest.mark.parametrize(
    "expr, reason",
    [
        ("@reboot", "system start"),
        ("0 0 1 * 1", "either"),
        ("0 0 */2 * 1", "both"),
        ("0 0 30 2 *", "never fires"),
        ("61 * * * *", "outside"),
        ("* * * *", "5 fields"),
    ],
)
def test_refusals_carry_a_reason(translate, expr, reason):
    (r,) = translate([expr])
    assert reason in r["error"], r


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("30 seconds", None),
        ("59 seconds", None),
        ("60 seconds", "rate(1 minute)"),
        ("600 seconds", "rate(10 minutes)"),
        ("0 4 $ * *", "cron(0 4 L * ? *)"),
    ],
)
def test_pg_cron_intervals(translate, expr, expected):
    (r,) = translate([expr], "--pg-cron")
    if expected is None:
        assert "rate(1 minute)" in r["error"], r
    else:
        assert r["schedules"][0]["expression"] == expected, r


MODULE_VARIABLES = pathlib.Path(__file__).resolve().parents[2] / "modules" / "pg_cron_job" / "variables.tf"


def module_accepts(expressions, workdir):
    """Evaluates the validations of modules/pg_cron_job's schedule_expression (taken from its
    variables.tf as they are) on each expression, with terraform itself."""
    text = MODULE_VARIABLES.read_text()
    start = text.index('variable "schedule_expression" {')
    block = text[start:text.index('\nvariable "', start + 10)]
    conditions = re.findall(r"condition\s*=\s*(.*?)\n\s*error_message", block, re.S)
    # The grammar's validations only: the at()-in-a-DST-gap one reads the zone and dst.tf's
    # table (tested by the module's own terraform test).
    conditions = [c for c in conditions if "schedule_timezone" not in c]
    assert len(conditions) >= 3, "schedule_expression validations not found"
    lstart = text.rindex("locals {", 0, text.index("cron_list    ="))
    locals_block = text[lstart:text.index("\n}\n", lstart) + 3]
    # plantimestamp() is unknown outside a plan (the past-schedule check): the time of this run.
    now = '"' + datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") + '"'
    checks = ",\n    ".join(c.strip().replace("var.schedule_expression", "e").replace("plantimestamp()", now) for c in conditions)
    (workdir / "main.tf").write_text(
        f'variable "exprs" {{\n  type = list(string)\n}}\n\n{locals_block}\n'
        f"locals {{\n  ok = [for e in var.exprs : alltrue([\n    {checks}\n  ])]\n}}\n"
    )
    (workdir / "exprs.tfvars.json").write_text(json.dumps({"exprs": list(expressions)}))
    proc = subprocess.run(
        ["terraform", "console", "-var-file=exprs.tfvars.json"],
        input="jsonencode(local.ok)\n", cwd=workdir, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, CHECKPOINT_DISABLE="1"),
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_module_validation_accepts_every_translation(translate, tmp_path):
    exprs = [c[0] for c in cases()]
    results = translate(exprs, "--split-or") + translate(
        ["30 seconds", "60 seconds", "7200 seconds", "0 4 $ * *", "@hourly", "@yearly"], "--pg-cron"
    )
    emitted = sorted({s["expression"] for r in results if "error" not in r for s in r["schedules"]})
    assert len(emitted) > 100
    # The check itself rejects what the module rejects.
    probe = ["cron(0 3 * * * *)", "cron(0 3 ? * 0 *)", "rate(1 minutes)"]
    verdicts = module_accepts(emitted + probe, tmp_path)
    assert verdicts[-3:] == [False, False, False]
    rejected = [e for e, ok in zip(emitted, verdicts) if not ok]
    assert not rejected, f"modules/pg_cron_job refuses: {rejected[:10]}"
