"""The workstation CLI as its users meet it: help and usage on every command, exit codes,
completions, and `pg-cron-job check` reading SQL files exactly as the job runner does (the same
refusals, with file and line), also as `make build SQL_DIR=...` runs it before packaging."""
import json
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Every command and subcommand, as typed after `pg-cron-job`.
COMMANDS = [
    [],
    ["import"],
    ["import", "crontab"],
    ["import", "pg-cron"],
    ["import", "schedule"],
    ["schedule"],
    ["schedule", "next"],
    ["check"],
    ["completions"],
]


@pytest.fixture(scope="session")
def cli() -> str:
    path = os.environ.get("PG_CRON_JOB_CLI", str(ROOT / ".build" / "x86_64" / "bin" / "pg-cron-job"))
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: run the tests through `make test` (it builds the CLI)")
    return path


def run(cli, *args, **kw):
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=60, **kw)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "pg-cron-job")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_on_every_command_exits_0_with_its_usage(cli, command, flag):
    proc = run(cli, *command, flag)
    assert proc.returncode == 0, proc
    assert f"Usage: pg-cron-job {' '.join(command)}".rstrip() in proc.stdout, proc.stdout


@pytest.mark.parametrize("command", [c for c in COMMANDS if c], ids=" ".join)
def test_an_unknown_option_exits_2_with_the_commands_usage(cli, command):
    proc = run(cli, *command, "--no-such-option")
    assert proc.returncode == 2, proc
    assert "--no-such-option" in proc.stderr and f"Usage: pg-cron-job {' '.join(command)}" in proc.stderr, proc.stderr


def test_version_is_the_crates(cli):
    version = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    for args in (["--version"], ["-V"]):
        proc = run(cli, *args)
        assert proc.returncode == 0 and proc.stdout.strip() == f"pg-cron-job {version}", proc
    # Subcommands take it too (clap names them "pg-cron-job-<command>").
    proc = run(cli, "schedule", "--version")
    assert proc.returncode == 0 and proc.stdout.strip().endswith(f" {version}"), proc


def test_a_missing_argument_names_it(cli):
    proc = run(cli, "schedule", "next")
    assert proc.returncode == 2 and "<EXPRESSION>" in proc.stderr, proc
    proc = run(cli, "import", "pg-cron", "jobs.csv", "--from-database")
    assert proc.returncode == 2 and "cannot be used with" in proc.stderr, proc


@pytest.mark.parametrize("shell,marker", [("bash", "complete -F"), ("zsh", "#compdef pg-cron-job"), ("fish", "complete -c pg-cron-job")])
def test_completions(cli, shell, marker):
    proc = run(cli, "completions", shell)
    assert proc.returncode == 0 and marker in proc.stdout, proc.stdout[:500]
    for word in ("import", "schedule", "check", "timezone", "split-or"):
        assert word in proc.stdout, word


# Constructs the runner refuses at start-up, each at a known line (lambda/core/src/sql.rs).
REFUSED = {
    "describe.sql": ("SELECT 1;\n-- the table\n\\d app.events\n", 3, "\\d is not supported"),
    "copy_stdin.sql": ("BEGIN;\nCOPY app.events FROM STDIN;\nCOMMIT;\n", 2, "COPY"),
    "rollback.sql": ("\\set ON_ERROR_ROLLBACK on\nDELETE FROM app.events;\n", 1, "ON_ERROR_ROLLBACK"),
    "include.sql": ("SELECT 1;\n\\i other.sql\n", 2, "\\i is not supported"),
    "gexec.sql": ("SELECT format('VACUUM %I', relname) FROM pg_class\n\\gexec\n", 2, "\\gexec is not supported"),
}
ACCEPTED = {
    "purge.sql": "\\set ON_ERROR_STOP on\n\\set days 90\nDELETE FROM app.events WHERE created_at < now() - (:'days' || ' days')::interval;\n",
    "function.sql": "CREATE OR REPLACE FUNCTION app.f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1; -- ; inside\nEND;\n$$;\nSELECT app.f();\n",
}


@pytest.fixture
def corpus(tmp_path):
    for name, (text, _, _) in REFUSED.items():
        (tmp_path / name).write_text(text)
    for name, text in ACCEPTED.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "empty.sql").write_text("-- nothing to run\n\n")
    return tmp_path


def test_check_names_each_refused_file_and_line(cli, corpus):
    files = sorted(str(p) for p in corpus.glob("*.sql"))
    proc = run(cli, "check", *files)
    assert proc.returncode == 1, proc
    for name, (_, line, needle) in REFUSED.items():
        row = next(l for l in proc.stderr.splitlines() if l.startswith(f"{corpus / name}: "))
        assert f": line {line}: " in row and needle in row, row
    assert f"{corpus / 'empty.sql'}: holds no SQL statement" in proc.stderr
    assert f"{corpus / 'purge.sql'}: ok, 1 statement" in proc.stdout
    assert f"{corpus / 'function.sql'}: ok, 2 statements" in proc.stdout
    assert f"{len(files)} files read, {len(REFUSED) + 1} the runner would refuse" in proc.stderr


def test_check_json_for_ci(cli, corpus):
    proc = run(cli, "check", "--json", *sorted(str(p) for p in corpus.glob("*.sql")))
    assert proc.returncode == 1, proc
    rows = {pathlib.Path(r["file"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    for name, (_, line, _) in REFUSED.items():
        assert rows[name]["ok"] is False and rows[name]["line"] == line, rows[name]
    assert rows["purge.sql"] == {"file": str(corpus / "purge.sql"), "ok": True, "statements": 1, "line": None, "error": None}


def test_check_accepts_what_the_runner_runs(cli, corpus):
    proc = run(cli, "check", *(str(corpus / n) for n in ACCEPTED), *(str(p) for p in (ROOT / "examples").rglob("*.sql")))
    assert proc.returncode == 0, proc


def test_check_agrees_with_the_runner(cli, corpus):
    """The runner's own start-up (the shipped bootstrap, one-shot, refusing the script before it
    reaches any server) gives the same message as check for each refused file: check is the same
    code, not a copy of its rules."""
    bootstrap = os.environ.get("PG_CRON_JOB_BIN", str(ROOT / ".build" / "x86_64" / "bin" / "bootstrap"))
    checked = run(cli, "check", "--json", *(str(corpus / n) for n in REFUSED))
    messages = {pathlib.Path(r["file"]).name: r["error"] for r in map(json.loads, checked.stdout.splitlines())}
    for name, (text, line, needle) in REFUSED.items():
        proc = subprocess.run([bootstrap], capture_output=True, text=True, timeout=60, env={
            "PATH": os.environ["PATH"], "SQL": text, "PGHOST": "127.0.0.1", "PGDATABASE": "app", "PGUSER": "app",
            "DB_SECRET_ID": "arn:aws:secretsmanager:eu-south-1:123456789012:secret:app-AbCdEf"})
        assert proc.returncode == 2, (name, proc)
        assert f"configuration error: SQL {messages[name]}" in proc.stderr, (name, messages[name], proc.stderr)


def test_make_build_stops_on_a_refused_file(tmp_path):
    """`make build SQL_DIR=dir` checks every file it would package and stops before packaging."""
    sql = tmp_path / "sql"
    (sql / "nightly").mkdir(parents=True)
    (sql / "purge.sql").write_text(ACCEPTED["purge.sql"])
    (sql / "nightly" / "report.sql").write_text(REFUSED["describe.sql"][0])
    package = ROOT / ".build" / "x86_64" / "pg-cron-job.zip"
    before = package.stat().st_mtime_ns
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    proc = subprocess.run(["make", "build", f"SQL_DIR={sql}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert f"{sql / 'nightly' / 'report.sql'}: line 3: psql meta-command \\d is not supported" in out, out[-3000:]
    assert "nothing was packaged" in out, out[-3000:]
    assert package.stat().st_mtime_ns == before, "the package must not be rewritten"
