"""End to end on Graviton: `terraform apply` examples/basic with `architecture = "arm64"` and the
arm64 package (`make build ARCH=arm64`) against moto on loopback, read the function back, then run
that package's AArch64 bootstrap the way Lambda runs it (Runtime API on loopback, the deployed
environment) against a real TLS PostgreSQL, and destroy.

Stand-ins, because nothing real can run here: this machine is x86_64, so the AArch64 bootstrap
runs under qemu's user-mode emulator (qemu-aarch64 with Debian's arm64 glibc, what `.ci/run`
installs) instead of on a Graviton CPU; moto stores the function but cannot execute it."""
import base64
import hashlib
import json
import os
import pathlib
import shutil
import uuid
import zipfile

import pytest

from harness import RuntimeApi, built_package, deployed_env, prepare_example, terraform, unpack_package

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "basic"
FUNCTION = "nightly-refresh"  # the example's job name
ARM64_SYSROOT = pathlib.Path(os.environ.get("ARM64_SYSROOT", "/usr/aarch64-linux-gnu"))
EM_AARCH64 = 183  # ELF e_machine


@pytest.fixture(scope="module")
def arm64_package():
    return built_package("PG_CRON_JOB_ARM64_PACKAGE", "arm64")


@pytest.fixture(scope="module")
def emulator():
    qemu = shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static")
    if not qemu or not (ARM64_SYSROOT / "lib" / "ld-linux-aarch64.so.1").exists():
        pytest.fail("running the arm64 bootstrap here needs qemu-aarch64 and an arm64 glibc in "
                    f"{ARM64_SYSROOT} (Debian: apt-get install qemu-user libc6-arm64-cross; .ci/run does)")
    return qemu


@pytest.fixture(scope="module")
def network(moto, pg):
    """What examples/basic expects to exist: a VPC, two private subnets, the database's security
    group and a secret with the job's credentials (pointing at the local cluster)."""
    ec2 = moto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone=z)["Subnet"]["SubnetId"]
               for i, z in enumerate(zones)]
    db_group = ec2.create_security_group(GroupName=f"db-{uuid.uuid4().hex[:6]}", Description="database", VpcId=vpc)["GroupId"]
    password = "pw-" + uuid.uuid4().hex
    pg.psql("DROP DATABASE IF EXISTS reports")
    pg.psql("DROP ROLE IF EXISTS report_job")
    pg.psql(f"CREATE ROLE report_job LOGIN PASSWORD '{password}'")
    pg.psql("CREATE DATABASE reports OWNER report_job")
    pg.psql("""
        CREATE SCHEMA reporting;
        CREATE TABLE reporting.sales (day date NOT NULL, amount numeric NOT NULL);
        INSERT INTO reporting.sales SELECT DATE '2026-11-01' + g % 10, g FROM generate_series(1, 1000) g;
        CREATE MATERIALIZED VIEW reporting.daily_sales AS
          SELECT day, sum(amount) AS total, count(*) AS sales FROM reporting.sales GROUP BY day;
        CREATE UNIQUE INDEX ON reporting.daily_sales (day);
        ALTER SCHEMA reporting OWNER TO report_job;
        ALTER TABLE reporting.sales OWNER TO report_job;
        ALTER MATERIALIZED VIEW reporting.daily_sales OWNER TO report_job;
    """, db="reports")
    secret = moto.client("secretsmanager").create_secret(
        Name=f"report-job-{uuid.uuid4().hex[:6]}", SecretString=pg.secret_json("report_job", password, db="reports"))["ARN"]
    return {"vpc_id": vpc, "subnet_ids": subnets, "database_security_group_id": db_group, "secret_arn": secret,
            "password": password}


@pytest.fixture(scope="module")
def applied(moto, arm64_package, network):
    work, env = prepare_example(EXAMPLE, ROOT / "modules" / "pg_cron_job", moto, arm64_package, "pgcj-arm64")
    env.update({
        "TF_VAR_architecture": "arm64",
        "TF_VAR_vpc_id": network["vpc_id"],
        "TF_VAR_subnet_ids": json.dumps(network["subnet_ids"]),
        "TF_VAR_database_security_group_id": network["database_security_group_id"],
        "TF_VAR_secret_arn": network["secret_arn"],
    })
    terraform(work, "apply", "-auto-approve", "-input=false", env=env)
    yield work, env
    terraform(work, "destroy", "-auto-approve", "-input=false", env=env)
    state = json.loads((work / "terraform.tfstate").read_text())
    assert state["resources"] == [], "destroy left resources in the state"
    assert FUNCTION not in [f["FunctionName"] for f in moto.client("lambda").list_functions()["Functions"]]
    shutil.rmtree(work.parent.parent, ignore_errors=True)


def test_function_is_deployed_for_arm64_with_the_arm64_package(applied, moto, arm64_package):
    fn = moto.client("lambda").get_function_configuration(FunctionName=FUNCTION)
    assert fn["Architectures"] == ["arm64"] and fn["Runtime"] == "provided.al2023", fn
    digest = base64.b64encode(hashlib.sha256(pathlib.Path(arm64_package).read_bytes()).digest()).decode()
    assert fn["CodeSha256"] == digest, "the function carries the arm64 zip"
    with zipfile.ZipFile(arm64_package) as z:
        header = z.read("bootstrap")[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == EM_AARCH64, "bootstrap is not an AArch64 ELF"


def test_arm64_bootstrap_runs_the_job_over_tls(applied, moto, pg, network, arm64_package, emulator):
    """The deployed function's environment (verify-full TLS, the secret's ARN) and the arm64
    bootstrap: it fetches the secret from Secrets Manager, refreshes the view, and a failure
    reaches the runtime as an error."""
    lam = moto.client("lambda")
    fn_env = deployed_env(lam, FUNCTION)
    assert fn_env["PGSSLMODE"] == "verify-full"
    pg.psql("INSERT INTO reporting.sales SELECT DATE '2026-11-20', 5 FROM generate_series(1, 7)", db="reports")
    package_dir = unpack_package(arm64_package)
    api = RuntimeApi()
    try:
        api.start_bootstrap(str(package_dir / "bootstrap"), {
            **fn_env, **moto.env(), "LAMBDA_TASK_ROOT": str(package_dir),
            "PGPORT": str(pg.port),  # the module deploys the RDS default, 5432
            "PGSSLROOTCERT": str(pg.ca.path),  # the test's CA instead of the Amazon RDS bundle
            "QEMU_LD_PREFIX": str(ARM64_SYSROOT),
        }, function_name=FUNCTION, launcher=(emulator,))
        kind, body = api.invoke({"id": str(uuid.uuid4()), "scheduled_time": "2026-11-29T03:15:00Z"}, timeout_s=60)
        assert kind == "response", f"{body}\n{api.logs()}"
        assert body["status"] == "succeeded", body
        assert pg.psql("SELECT sales FROM reporting.daily_sales WHERE day = '2026-11-20'", db="reports") == "7"

        # The view's owner loses it: the next run fails and says why (SQLSTATE 42P01).
        pg.psql("ALTER MATERIALIZED VIEW reporting.daily_sales RENAME TO daily_sales_old", db="reports")
        kind, body = api.invoke({"id": str(uuid.uuid4()), "scheduled_time": "2026-11-30T03:15:00Z"}, timeout_s=60)
        assert kind == "error", body
        assert "42P01" in json.dumps(body), body
        assert network["password"] not in api.logs(), "the password reached the function's log"
    finally:
        api.stop()
        shutil.rmtree(package_dir, ignore_errors=True)
