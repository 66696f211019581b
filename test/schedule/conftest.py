import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> str:
    """The workstation CLI `pg-cron-job` (lambda/cli)."""
    path = os.environ.get("PG_CRON_JOB_CLI", str(ROOT / ".build" / "x86_64" / "bin" / "pg-cron-job"))
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: run the tests through `make test` (it builds the CLI)")
    return path
