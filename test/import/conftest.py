"""Shared helpers of the import tests: the runner binary and the Scheduler evaluator."""
import json
import subprocess

import pytest


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
