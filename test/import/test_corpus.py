"""The importer on a corpus of realistic inputs (test/import/corpus): its output is compared with
the checked-in golden files (UPDATE_GOLDEN=1 rewrites them), and each output directory passes
`terraform validate` and a mocked-provider `terraform test` plan against the local
modules/pg_cron_jobs, so the module's own validations accept every translated schedule."""
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"
GOLDEN = CORPUS / "golden"
AS_OF = "2026-12-02"
MODULE = ROOT / "modules" / "pg_cron_jobs"
DEFAULT_SOURCE = "git::https://github.com/pg-cron-job/pg_cron_job.git//modules/pg_cron_jobs?ref=v0.2.0"

CASES = {
    # Scripts available (--scripts-root) and the day-field OR split into two schedules.
    "crontab": ["crontab", "app.crontab", "--timezone", "America/New_York", "--scripts-root", "scripts", "--split-or"],
    # Without the scripts: placeholders that fail, entries disabled; the OR line refused.
    "crontab_no_scripts": ["crontab", "app.crontab"],
    # /etc/cron.d format (user field), TZ=, PG* lines, conninfo, stdin script, vacuumdb, shell script.
    "system_crontab": ["crontab", "etc_cron.d_billing", "--system", "--scripts-root", "scripts"],
    "pg_cron_csv": ["pg-cron", "cron_job.csv", "--timezone", "Europe/Rome"],
    "pg_cron_copy": ["pg-cron", "cron_job.copy"],
}
# What each case must convert / disable / refuse (jobs, disabled, refused, jobs entries).
COUNTS = {
    "crontab": (10, 1, 3, 11),
    "crontab_no_scripts": (9, 3, 4, 9),
    "system_crontab": (6, 0, 2, 6),
    "pg_cron_csv": (7, 1, 2, 7),
    "pg_cron_copy": (1, 0, 1, 1),
}


def tree(path: pathlib.Path):
    return {
        str(p.relative_to(path)): p.read_text()
        for p in sorted(path.rglob("*"))
        if p.is_file() and ".terraform" not in p.parts and not p.name.startswith(".terraform")
    }


def run_import(binary, tmp_path, case):
    for item in CORPUS.iterdir():
        if item.name != "golden":
            dest = tmp_path / item.name
            (shutil.copytree if item.is_dir() else shutil.copy)(item, dest)
    proc = subprocess.run(
        # --as-of: the daylight-saving notes cover the 12 months from a fixed date.
        [binary, "import", *CASES[case], "--out", "out", "--as-of", AS_OF],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "out", proc.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_golden(binary, tmp_path, case):
    out, summary = run_import(binary, tmp_path, case)
    jobs, disabled, refused, entries = COUNTS[case]
    assert f"{jobs} job(s) converted into {entries} jobs entries" in summary, summary
    assert f"({disabled} disabled until a human acts), {refused} not converted" in summary, summary
    got = tree(out)
    golden = GOLDEN / case
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    want = tree(golden)
    assert sorted(got) == sorted(want), "files differ from the golden output (UPDATE_GOLDEN=1 to accept)"
    for name in want:
        assert got[name] == want[name], f"{case}/{name} differs from the golden output (UPDATE_GOLDEN=1 to accept)"


def test_report_names_the_jobs_daylight_saving_time_changes(binary, tmp_path):
    """Each job whose start Scheduler skips or runs once when the clocks change, with the dates
    (America/New_York: 14 March and 7 November 2027), and no other job."""
    out, _ = run_import(binary, tmp_path, "crontab")
    report = (out / "REPORT.md").read_text()
    assert "In the 12 months from 2026-12-02:" in report
    assert "  - `purge_events`: skipped on 2027-03-14 at 02:30\n" in report, report
    dst = report.split("In the 12 months from 2026-12-02:")[1].split("\n\n")[0]
    assert all("2027-03-14" in line or "2027-11-07" in line for line in dst.strip().splitlines()), dst


def test_report_explains_what_needs_a_human(binary, tmp_path):
    out, _ = run_import(binary, tmp_path, "crontab_no_scripts")
    report = (out / "REPORT.md").read_text()
    main_tf = (out / "main.tf").read_text()
    for expected in [
        "script /opt/jobs/purge_events.sql is on the old host",  # -f without --scripts-root
        "shell construct \"|\"",  # the pipeline to mail
        "pg_dump is a backup/dump tool",
        "@reboot runs at system start",
        "cron runs on days matching either",  # 1,15 OR Monday, refused without --split-or
        "MAILTO=dba-team@example.com",
        "REPORT_DIR=/var/reports ignored",
        "Credentials: the old jobs logged in as `app_jobs`, `postgres`, `reporting`",
        "No --timezone given",
    ]:
        assert expected in report, expected
    # Placeholders fail loudly and their entries do not fire until a human acts.
    assert main_tf.count("schedule_enabled    = false") == 3
    assert "RAISE EXCEPTION" in (out / "sql" / "purge_events.sql").read_text()
    assert 'alarm_emails               = ["dba-team@example.com"]' in main_tf


def test_split_or_entries_are_jobs_of_their_own(binary, tmp_path):
    """The two schedules of a split line are two jobs, each with its own (default) job name: the
    jobs map refuses two jobs of one name (they would share the overlap lock and each count the
    other's runs as its evidence)."""
    out, _ = run_import(binary, tmp_path, "crontab")
    main_tf = (out / "main.tf").read_text()
    assert 'invoice_reminders_dom = {' in main_tf and 'invoice_reminders_dow = {' in main_tf
    assert "job_name" not in main_tf
    assert 'schedule_expression = "cron(0 5 1,15 * ? *)"' in main_tf
    assert 'schedule_expression = "cron(0 5 ? * 2 *)"' in main_tf


def mock_providers():
    """The mock_provider block of the jobs module's own tests (its defaults are in tests/mocks,
    which the caller copies next to the generated test file)."""
    text = (MODULE / "tests" / "jobs.tftest.hcl").read_text()
    start = text.index('mock_provider "aws"')
    end = text.index("\nvariables {", start)
    return text[start:end]


@pytest.fixture(scope="module")
def tf_env():
    if not shutil.which("terraform"):
        pytest.fail("terraform is not installed")
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    return env


@pytest.mark.parametrize("case", sorted(CASES))
def test_terraform_validate_and_plan(binary, tmp_path, case, tf_env):
    out, _ = run_import(binary, tmp_path, case)
    main_tf = out / "main.tf"
    text = main_tf.read_text()
    assert f'source = "{DEFAULT_SOURCE}"' in text
    main_tf.write_text(text.replace(DEFAULT_SOURCE, os.path.relpath(MODULE, out)))
    plugin_dir = os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins" if os.path.isdir("/opt/tf-plugins") else "")

    def tf(*args):
        proc = subprocess.run(
            ["terraform", *args], cwd=out, env=tf_env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"terraform {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    tf("fmt", "-check", "-diff")
    tf("init", "-backend=false", "-input=false", *([f"-plugin-dir={plugin_dir}"] if plugin_dir else []))
    tf("validate", "-no-color")
    entries = COUNTS[case][3]
    # The package as `make build SQL_DIR=<out>/sql` would list it (lambda/package.py): the plan
    # checks each job's sql_file against the listing beside the zip.
    package = out / "package.zip"
    shutil.copy(MODULE / "tests" / "fixtures" / "package.zip", package)
    files = {"bootstrap": "0" * 64}
    files.update({f"sql/{f.name}": hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted((out / "sql").glob("*.sql"))})
    (out / "package.zip.files.json").write_text(json.dumps({"package": "package.zip", "files": files}))
    (out / "tests").mkdir()
    shutil.copytree(MODULE / "tests" / "mocks", out / "tests" / "mocks")
    (out / "tests" / "import.tftest.hcl").write_text(
        mock_providers()
        + f"""
variables {{
  region                     = "eu-south-1"
  package_path               = "{package}"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  database_security_group_id = "sg-0db0db0db0db0db00"
  secret_arn                 = "arn:aws:secretsmanager:eu-south-1:123456789012:secret:master-AbCdEf"
}}

run "imported_jobs_plan" {{
  command = plan

  assert {{
    condition     = length(module.pg_cron_jobs.jobs) == {entries}
    error_message = "Every jobs entry becomes a job."
  }}
}}
"""
    )
    proc = subprocess.run(["terraform", "test", "-no-color"], cwd=out, env=tf_env, capture_output=True, text=True, timeout=600)
    result = proc.stdout + proc.stderr
    if proc.returncode != 0:
        # A crontab's 02:30 in a zone with daylight saving time: the job module's check block
        # "daylight_saving_time" warns at plan (a warning for `terraform plan`; terraform test
        # counts it as the run's failure). Nothing else may fail.
        errors = re.findall(r"Error: (.+)", result)
        assert errors and all(e.strip() == "Check block assertion failed" for e in errors), result
        assert result.count("dst_check.tf") >= len(errors), result
        assert "does not exist on" in result or "happens twice on" in result, result
    else:
        assert "1 passed, 0 failed" in result, result


def test_existing_output_is_kept_unless_forced(binary, tmp_path):
    out, _ = run_import(binary, tmp_path, "pg_cron_copy")
    (out / "main.tf").write_text("# edited by hand\n")
    again = subprocess.run(
        [binary, "import", *CASES["pg_cron_copy"], "--out", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert again.returncode == 2 and "--force" in again.stderr, again
    assert (out / "main.tf").read_text() == "# edited by hand\n"
    forced = subprocess.run(
        [binary, "import", *CASES["pg_cron_copy"], "--out", "out", "--force"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert forced.returncode == 0, forced.stderr
    assert 'module "pg_cron_jobs"' in (out / "main.tf").read_text()
