"""Shared helpers of the import tests: the workstation CLI and the Scheduler evaluator."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def binary() -> str:
    """The workstation CLI `pg-cron-job` (lambda/cli), not the Lambda package's bootstrap."""
    path = os.environ.get("PG_CRON_JOB_CLI", str(ROOT / ".build" / "x86_64" / "bin" / "pg-cron-job"))
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: run the tests through `make test` (it builds the CLI)")
    return path


@pytest.fixture(scope="session")
def translate(binary):
    """Translates cron expressions with `pg-cron-job import schedule` (one process per batch)."""

    def run(exprs, *flags):
        proc = subprocess.run(
            [binary, "import", "schedule", *flags],
            input="\n".join(exprs) + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode in (0, 1), proc.stderr
        results = [json.loads(line) for line in proc.stdout.splitlines()]
        assert [r["input"] for r in results] == list(exprs)
        return results

    return run
