"""Built-in password rotation: the real bootstrap with its `rotation` handler (_HANDLER), driven through the
loopback Lambda Runtime API the way Secrets Manager drives a rotation function, against moto's
Secrets Manager and a real PostgreSQL that logs every statement (log_statement = all).

Secrets Manager's side is emulated with moto: `rotate_secret` with a stand-in rotation Lambda
(moto's docker-less Lambda, which does nothing) creates what the service creates before calling
the function: the token's version labelled AWSPENDING without a value, and RotationEnabled. The
test then delivers createSecret, setSecret, testSecret and finishSecret to the real bootstrap
itself, as the service would.
"""
import io
import json
import pathlib
import sys
import urllib.request
import uuid
import zipfile

import pytest

from harness import MotoServer, PostgresCluster, RuntimeApi

STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


@pytest.fixture(scope="module")
def rpg():
    cluster = PostgresCluster(extra_conf={"log_statement": "'all'"})
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def rmoto():
    server = MotoServer(pathlib.Path(sys.executable).parent)
    try:
        # moto's Lambda without docker: the stand-in rotation function rotate_secret calls.
        req = urllib.request.Request(
            server.url + "/moto-api/config", method="POST",
            data=json.dumps({"lambda": {"use_docker": False}}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
        role = server.client("iam").create_role(RoleName="rotation", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "stand-in")
        server.rotation_arn = server.client("lambda").create_function(
            FunctionName="stand-in-rotation", Runtime="provided.al2023", Role=role, Handler="bootstrap",
            Code={"ZipFile": code.getvalue()})["FunctionArn"]
        yield server
    finally:
        server.stop()


def can_login(pg, user, password) -> bool:
    try:
        pg.psql("SELECT 1", user=user, password=password)
        return True
    except RuntimeError:
        return False


class Rotation:
    """One secret, its rotation function (the real bootstrap) and a warm job on the same secret."""

    def __init__(self, binary, pg, moto, strategy, secret_json, extra_env=None):
        self.pg, self.moto, self.binary = pg, moto, binary
        self.sm = moto.client("secretsmanager")
        self.id = "pg-cron-job/rotation/" + uuid.uuid4().hex[:8]
        self.sm.create_secret(Name=self.id, SecretString=secret_json)
        self.env = {**moto.env(), "PGSSLMODE": "verify-full", "PGSSLROOTCERT": str(pg.ca.path)}
        self.rotator = RuntimeApi()
        self.rotator.start_bootstrap(binary, {**self.env, "_HANDLER": "rotation", "ROTATION_STRATEGY": strategy, **(extra_env or {})},
                                     function_name="rotation-" + uuid.uuid4().hex[:6])
        self.jobs: list[RuntimeApi] = []

    def job(self, sql):
        api = RuntimeApi()
        api.start_bootstrap(self.binary, {**self.env, "DB_SECRET_ID": self.id, "SQL": sql,
                                          "JOB_NAME": "rot-job-" + uuid.uuid4().hex[:6]})
        self.jobs.append(api)
        return api

    def start(self) -> str:
        """What Secrets Manager does before calling createSecret (RotateSecret)."""
        versions = self.sm.describe_secret(SecretId=self.id)["VersionIdsToStages"]
        for vid, stages in versions.items():
            # After finishSecret AWSPENDING stays on the new AWSCURRENT version; AWS starts the
            # next rotation anyway, moto refuses to: drop the label first.
            if "AWSPENDING" in stages and "AWSCURRENT" in stages:
                self.sm.update_secret_version_stage(SecretId=self.id, VersionStage="AWSPENDING",
                                                    RemoveFromVersionId=vid)
        token = str(uuid.uuid4())
        self.sm.rotate_secret(SecretId=self.id, ClientRequestToken=token, RotationLambdaARN=self.moto.rotation_arn,
                              RotationRules={"AutomaticallyAfterDays": 30})
        return token

    def step(self, step, token, expect="response"):
        kind, body = self.rotator.invoke({"SecretId": self.id, "ClientRequestToken": token, "Step": step})
        assert kind == expect, (step, body, self.rotator.logs()[-3000:])
        return body

    def stages(self):
        return self.sm.describe_secret(SecretId=self.id)["VersionIdsToStages"]

    def value(self, stage):
        return json.loads(self.sm.get_secret_value(SecretId=self.id, VersionStage=stage)["SecretString"])

    def stop(self):
        for api in [self.rotator, *self.jobs]:
            api.stop()


@pytest.fixture
def rotations():
    made = []
    yield made
    for r in made:
        r.stop()


def new_user(pg):
    name = "rot_" + uuid.uuid4().hex[:8]
    password = "pw-" + uuid.uuid4().hex
    pg.create_user(name, password)
    return name, password


def run_job(job):
    kind, body = job.invoke({})
    assert kind == "response", (body, job.logs()[-3000:])
    assert body["status"] == "succeeded", body
    return body


def test_single_user_rotation_end_to_end(binary, rpg, rmoto, rotations):
    user, old = new_user(rpg)
    table = "rot_" + uuid.uuid4().hex[:8]
    rpg.psql(f"CREATE TABLE {table} (who text)")
    rpg.psql(f"ALTER TABLE {table} OWNER TO {user}")
    r = Rotation(binary, rpg, rmoto, "single-user", rpg.secret_json(user, old))
    rotations.append(r)
    job = r.job(f"INSERT INTO {table} SELECT current_user")
    run_job(job)  # warm: the secret is cached
    print(f"\njob duration before the rotation: warm {run_job(job)['duration_ms']} ms")

    old_version = next(v for v, s in r.stages().items() if "AWSCURRENT" in s)
    token = r.start()
    assert r.step("createSecret", token)["outcome"].startswith("stored")
    new = r.value("AWSPENDING")["password"]
    assert new != old and len(new) == 32
    assert not set(new) & set("/@\"'\\ :;$`")
    assert r.value("AWSPENDING")["host"] == rpg.host  # every other field kept

    r.step("setSecret", token)
    assert can_login(rpg, user, new) and not can_login(rpg, user, old)
    # Between setSecret and finishSecret AWSCURRENT is refused: the job retries with AWSPENDING,
    # warm (cached secret) or cold.
    warm = run_job(job)
    assert "trying AWSPENDING" in job.logs()
    cold_in_window = r.job(f"INSERT INTO {table} SELECT current_user")
    cold = run_job(cold_in_window)
    assert "trying AWSPENDING" in cold_in_window.logs()
    print(f"\njob durations between setSecret and finishSecret: warm {warm['duration_ms']} ms, cold {cold['duration_ms']} ms")

    r.step("testSecret", token)
    r.step("finishSecret", token)
    stages = r.stages()
    assert "AWSCURRENT" in stages[token]
    assert stages[old_version] == ["AWSPREVIOUS"]
    assert r.value("AWSCURRENT")["password"] == new
    assert r.value("AWSPREVIOUS")["password"] == old

    run_job(job)  # right after finishSecret, with the cached (pending) credentials
    after = run_job(job)
    cold = r.job(f"INSERT INTO {table} SELECT current_user")
    run_job(cold)  # a cold start reads the new AWSCURRENT
    assert "trying AWSPENDING" not in cold.logs()
    print(f"job durations after finishSecret: warm {after['duration_ms']} ms")
    assert rpg.psql(f"SELECT count(*) FROM {table}") == "7"

    log = rpg.log_text
    assert new not in log, "the clear-text password reached the server log"
    assert f'ALTER ROLE "{user}" PASSWORD \'SCRAM-SHA-256$4096:' in log
    for api in [r.rotator, job, cold, cold_in_window]:
        assert new not in api.logs() and old not in api.logs()


def test_repeated_and_out_of_order_steps_are_harmless(binary, rpg, rmoto, rotations):
    user, old = new_user(rpg)
    r = Rotation(binary, rpg, rmoto, "single-user", rpg.secret_json(user, old))
    rotations.append(r)
    old_version = next(v for v, s in r.stages().items() if "AWSCURRENT" in s)
    token = r.start()

    # Out of order: setSecret and testSecret before createSecret fail and change nothing.
    for step in ["setSecret", "testSecret"]:
        body = r.step(step, token, expect="error")
        assert "run createSecret first" in body["errorMessage"] and step in body["errorMessage"]
        assert r.id in body["errorMessage"]
    assert can_login(rpg, user, old)

    r.step("createSecret", token)
    pending = r.value("AWSPENDING")["password"]
    assert "already" in r.step("createSecret", token)["outcome"]
    assert r.value("AWSPENDING")["password"] == pending

    # testSecret before setSecret: refused, AWSCURRENT still works.
    assert "refuses AWSPENDING" in r.step("testSecret", token, expect="error")["errorMessage"]
    assert can_login(rpg, user, old)

    r.step("setSecret", token)
    assert "already set" in r.step("setSecret", token)["outcome"]
    r.step("testSecret", token)
    r.step("testSecret", token)
    r.step("finishSecret", token)
    for step in STEPS:  # the whole rotation again with the same token: all no-ops
        assert "already AWSCURRENT" in r.step(step, token)["outcome"]
    assert can_login(rpg, user, pending) and not can_login(rpg, user, old)

    # Tokens that are not the pending version are refused.
    body = r.step("setSecret", str(uuid.uuid4()), expect="error")
    assert "not a version of the secret" in body["errorMessage"]
    body = r.step("setSecret", old_version, expect="error")
    assert "not AWSPENDING" in body["errorMessage"]
    # Nothing of this reached the server log in clear text.
    assert pending not in rpg.log_text


def test_failing_set_secret_leaves_awscurrent_usable(binary, rpg, rmoto, rotations):
    user, old = new_user(rpg)
    # A rotation function that cannot reach the database (closed port).
    broken = Rotation(binary, rpg, rmoto, "single-user", rpg.secret_json(user, old),
                      extra_env={"PGPORT": "1", "PGCONNECT_TIMEOUT": "2"})
    rotations.append(broken)
    job = broken.job("SELECT 1")
    token = broken.start()
    broken.step("createSecret", token)
    body = broken.step("setSecret", token, expect="error")
    assert "setSecret" in body["errorMessage"] and broken.id in body["errorMessage"]
    pending = broken.value("AWSPENDING")["password"]
    assert pending not in body["errorMessage"]
    # Secrets Manager retries only later: meanwhile AWSCURRENT keeps working.
    assert can_login(rpg, user, old)
    run_job(job)
    assert broken.value("AWSCURRENT")["password"] == old

    # The retry (a working function, same token) completes the rotation.
    fixed = RuntimeApi()
    fixed.start_bootstrap(binary, {**broken.env, "_HANDLER": "rotation", "ROTATION_STRATEGY": "single-user"}, function_name="rotation-fixed")
    broken.jobs.append(fixed)
    broken.rotator, spare = fixed, broken.rotator
    broken.jobs.append(spare)
    for step in STEPS[1:]:
        broken.step(step, token)
    assert broken.value("AWSCURRENT")["password"] == pending
    run_job(job)


def test_a_pending_version_for_another_user_is_refused(binary, rpg, rmoto, rotations):
    user, old = new_user(rpg)
    other, _ = new_user(rpg)
    r = Rotation(binary, rpg, rmoto, "single-user", rpg.secret_json(user, old))
    rotations.append(r)
    token = r.start()
    r.sm.put_secret_value(SecretId=r.id, ClientRequestToken=token, VersionStages=["AWSPENDING"],
                          SecretString=rpg.secret_json(other, "x-" + uuid.uuid4().hex))
    body = r.step("setSecret", token, expect="error")
    assert "AWSPENDING names user" in body["errorMessage"]
    assert can_login(rpg, user, old)


def test_alternating_users_flip_between_user_and_clone(binary, rpg, rmoto, rotations):
    user, password = new_user(rpg)
    rpg.psql(f"CREATE ROLE {user}_reader NOLOGIN")
    rpg.psql(f"GRANT {user}_reader TO {user}")
    table = "alt_" + uuid.uuid4().hex[:8]
    rpg.psql(f"CREATE TABLE {table} (who text)")
    rpg.psql(f"ALTER TABLE {table} OWNER TO {user}")
    master_id = "pg-cron-job/master/" + uuid.uuid4().hex[:8]
    sm = rmoto.client("secretsmanager")
    # An RDS-managed master secret holds only username and password.
    master_arn = sm.create_secret(Name=master_id, SecretString=json.dumps(
        {"username": "postgres", "password": rpg.SUPERUSER_PASSWORD}))["ARN"]
    secret = json.loads(rpg.secret_json(user, password))
    secret["masterarn"] = master_arn
    r = Rotation(binary, rpg, rmoto, "alternating-users", json.dumps(secret))
    rotations.append(r)
    job = r.job(f"INSERT INTO {table} SELECT current_user")
    run_job(job)

    seen = []
    for expected in [f"{user}_clone", user]:
        before = r.value("AWSCURRENT")
        token = r.start()
        r.step("createSecret", token)
        pending = r.value("AWSPENDING")
        assert pending["username"] == expected and pending["masterarn"] == master_arn
        r.step("setSecret", token)
        assert "already set" in r.step("setSecret", token)["outcome"]
        run_job(job)  # AWSCURRENT's user still logs in: no window
        r.step("testSecret", token)
        r.step("finishSecret", token)
        assert r.value("AWSCURRENT")["username"] == expected
        assert r.value("AWSPREVIOUS")["username"] == before["username"]
        # The previous user keeps its password until the next rotation.
        assert can_login(rpg, before["username"], before["password"])
        assert can_login(rpg, expected, pending["password"])
        run_job(job)
        seen.append(pending["password"])
        assert pending["password"] not in rpg.log_text

    whos = rpg.psql(f"SELECT string_agg(DISTINCT who, ',' ORDER BY who) FROM {table}")
    assert whos == f"{user},{user}_clone"
    members = rpg.psql(
        "SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_auth_members m "
        "JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member "
        f"WHERE u.rolname = '{user}_clone'")
    assert members == f"{user},{user}_reader"
    assert rpg.SUPERUSER_PASSWORD not in r.rotator.logs()


def test_alternating_users_needs_a_master_secret(binary, rpg, rmoto, rotations):
    user, password = new_user(rpg)
    r = Rotation(binary, rpg, rmoto, "alternating-users", rpg.secret_json(user, password))
    rotations.append(r)
    token = r.start()
    body = r.step("createSecret", token, expect="error")
    assert "masterarn" in body["errorMessage"] and "createSecret" in body["errorMessage"]


def test_one_shot_rotation_step(binary, rpg, rmoto, rotations):
    from harness import run_oneshot
    user, password = new_user(rpg)
    r = Rotation(binary, rpg, rmoto, "single-user", rpg.secret_json(user, password))
    rotations.append(r)
    env = {**r.env, "_HANDLER": "rotation", "ROTATION_STRATEGY": "single-user"}
    bad = run_oneshot(binary, env, '{"Step": "createSecret"}')
    assert bad.code == 2 and "not a Secrets Manager rotation event" in bad.stderr, bad
    token = r.start()
    for step in STEPS:
        done = run_oneshot(binary, env, json.dumps({"SecretId": r.id, "ClientRequestToken": token, "Step": step}))
        assert done.code == 0 and done.report["step"] == step, done
    assert r.value("AWSCURRENT")["password"] != password
    wrong = run_oneshot(binary, {**env, "ROTATION_STRATEGY": "multi-user"}, "{}")
    assert wrong.code == 2 and "ROTATION_STRATEGY" in wrong.stderr, wrong
