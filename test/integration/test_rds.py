"""RDS-aware runner: the job names its database by DB_CLUSTER_IDENTIFIER / DB_INSTANCE_IDENTIFIER
and the runner asks the local AWS API server's RDS (on loopback) for endpoint, port and status.
The API's host names do not resolve here, so PGHOSTADDR=127.0.0.1 connects to the address while
TLS verify-full checks the certificate against the name the API returned, as in production."""
import json
import uuid

import pytest

from harness import PostgresCluster, run_oneshot


def rds_secret(moto, user, password):
    """An RDS-managed master secret: username and password only, no host, port or dbname."""
    sid = "rds!db-" + uuid.uuid4().hex[:8]
    moto.client("secretsmanager").create_secret(Name=sid, SecretString=json.dumps({"username": user, "password": password}))
    return sid


@pytest.fixture
def clusters():
    started = []

    def start(**kwargs):
        c = PostgresCluster(**kwargs)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


def bundle(tmp_path, *clusters):
    path = tmp_path / "ca-bundle.pem"
    path.write_text("".join(c.ca.path.read_text() for c in clusters))
    return str(path)


def job_env(moto, sid, ca):
    return {**moto.env(), "DB_SECRET_ID": sid, "PGHOSTADDR": "127.0.0.1", "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": ca, "JOB_NAME": "rds-" + uuid.uuid4().hex[:6]}


def test_instance_found_by_the_api_and_a_stopped_instance_is_skipped(binary, moto, clusters, tmp_path):
    rds = moto.client("rds")
    name = "solo-" + uuid.uuid4().hex[:6]
    pg = clusters()
    address = rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro",
                                     MasterUsername="admin1", MasterUserPassword="password123", AllocatedStorage=20,
                                     Port=pg.port)["DBInstance"]["Endpoint"]["Address"]
    pg.dns_names = (address,)
    pg.start()
    pg.create_user("job_user", "job-password-1")
    env = dict(job_env(moto, rds_secret(moto, "job_user", "job-password-1"), bundle(tmp_path, pg)),
               DB_INSTANCE_IDENTIFIER=name, SQL="SELECT current_user")
    r = run_oneshot(binary, env)
    assert r.code == 0 and r.report["status"] == "succeeded", r
    assert f'"host":"{address}"' in r.stderr and "found the database through the RDS API" in r.stderr

    rds.stop_db_instance(DBInstanceIdentifier=name)
    r = run_oneshot(binary, env)
    assert r.code == 0, r
    assert (r.report["status"], r.report["reason"]) == ("skipped", "database_stopped")
    r = run_oneshot(binary, dict(env, WHEN_DATABASE_UNAVAILABLE="fail"))
    assert r.code == 1 and r.report["error"]["kind"] == "connect" and "stopped" in r.report["error"]["message"], r


def test_after_a_failover_the_job_lands_on_the_writer(binary, moto, clusters, tmp_path):
    """The cluster endpoint still reaches the old writer (now read-only); the runner asks the API
    for the current writer instance and runs there."""
    rds = moto.client("rds")
    cid = "aur-" + uuid.uuid4().hex[:6]
    stale = clusters()
    writer = clusters()
    cluster = rds.create_db_cluster(DBClusterIdentifier=cid, Engine="aurora-postgresql", MasterUsername="admin1",
                                    MasterUserPassword="password123", Port=stale.port)["DBCluster"]
    rds.create_db_instance(DBInstanceIdentifier=cid + "-1", DBClusterIdentifier=cid, Engine="aurora-postgresql",
                           DBInstanceClass="db.r6g.large", Port=stale.port)
    new = rds.create_db_instance(DBInstanceIdentifier=cid + "-2", DBClusterIdentifier=cid, Engine="aurora-postgresql",
                                 DBInstanceClass="db.r6g.large", Port=writer.port)["DBInstance"]
    rds.failover_db_cluster(DBClusterIdentifier=cid, TargetDBInstanceIdentifier=cid + "-2")
    writer.ca = stale.ca  # one test CA signs both servers, as the RDS CA bundle covers every instance
    stale.dns_names = (cluster["Endpoint"], cluster["ReaderEndpoint"])
    writer.dns_names = (new["Endpoint"]["Address"],)
    for c in (stale, writer):
        c.start()
        c.create_user("job_user", "job-password-2")
        c.psql("CREATE TABLE IF NOT EXISTS purged (at timestamptz)")
        c.psql("GRANT ALL ON purged TO job_user")
    # The old writer is now a reader (read-only, as an Aurora reader or a standby is).
    stale.psql("ALTER SYSTEM SET default_transaction_read_only = on")
    stale.psql("SELECT pg_reload_conf()")
    env = dict(job_env(moto, rds_secret(moto, "job_user", "job-password-2"), bundle(tmp_path, stale)),
               DB_CLUSTER_IDENTIFIER=cid, SQL="INSERT INTO purged VALUES (now())")
    r = run_oneshot(binary, env)
    assert r.code == 0 and r.report["status"] == "succeeded", r
    assert "reached a reader: connecting to the cluster's writer instance" in r.stderr
    assert writer.psql("SELECT count(*) FROM purged") == "1"
    assert stale.psql("SELECT count(*) FROM purged") == "0"

    # A read-only job uses the reader endpoint and stays there.
    r = run_oneshot(binary, dict(env, DB_ENDPOINT="reader", SQL="SELECT count(*) FROM purged"))
    assert r.code == 0, r
    assert f'"host":"{cluster["ReaderEndpoint"]}"' in r.stderr

    # Without the RDS API (PGHOST at the stale writer) the run fails and says why.
    r = run_oneshot(binary, dict(env, DB_CLUSTER_IDENTIFIER="", PGHOST=cluster["Endpoint"], PGPORT=str(stale.port)))
    assert r.code == 1 and r.report["error"]["kind"] == "connect", r
    assert "read-only server" in r.report["error"]["message"]


@pytest.mark.parametrize("env_update, needle", [
    ({"DB_CLUSTER_IDENTIFIER": "a", "DB_INSTANCE_IDENTIFIER": "b"}, "both set"),
    ({"DB_INSTANCE_IDENTIFIER": "b", "DB_ENDPOINT": "reader"}, "DB_CLUSTER_IDENTIFIER"),
    ({"DB_ENDPOINT": "writer"}, "need DB_CLUSTER_IDENTIFIER"),
    ({"DB_CLUSTER_IDENTIFIER": "a", "WHEN_DATABASE_UNAVAILABLE": "wait"}, "WHEN_DATABASE_UNAVAILABLE"),
    ({"PGHOSTADDR": "db.internal"}, "PGHOSTADDR"),
])
def test_bad_rds_settings_are_config_errors(binary, base_env, env_update, needle):
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", **env_update))
    assert r.code == 2 and needle in r.report["error"]["message"], r
