"""Session-wide real servers shared by the integration and end-to-end tests."""
import os
import pathlib
import sys
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from harness import MotoServer, PostgresCluster  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def binary() -> str:
    path = os.environ.get("PG_CRON_JOB_BIN", str(ROOT / ".build" / "x86_64" / "bin" / "bootstrap"))
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: run the tests through `make test` (it builds the runner)")
    return path


@pytest.fixture(scope="session")
def pg():
    cluster = PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def moto():
    server = MotoServer(pathlib.Path(sys.executable).parent)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def job_user(pg):
    """A fresh login role for one test, with its own password."""
    name = "job_" + uuid.uuid4().hex[:8]
    password = "pw-" + uuid.uuid4().hex
    pg.create_user(name, password)
    return name, password


@pytest.fixture
def secret(moto, pg, job_user):
    """A Secrets Manager secret on moto holding the job user's RDS-format credentials."""
    name, password = job_user
    sm = moto.client("secretsmanager")
    secret_name = "pg-cron-job/test/" + uuid.uuid4().hex[:8]
    sm.create_secret(Name=secret_name, SecretString=pg.secret_json(name, password))
    return {"id": secret_name, "user": name, "password": password}


@pytest.fixture
def base_env(moto, pg, secret):
    """The runner's environment: secret on moto, verify-full TLS against the test CA."""
    return {
        **moto.env(),
        "DB_SECRET_ID": secret["id"],
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(pg.ca.path),
        "JOB_NAME": "test-job-" + uuid.uuid4().hex[:6],
    }
