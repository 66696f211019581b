"""Real servers for the tests, all on 127.0.0.1 and free ports, always stopped afterwards:
a throwaway PostgreSQL 15 cluster with TLS (certificates generated here), moto_server as the
AWS API, and a minimal Lambda Runtime API that drives the real bootstrap the way Lambda does.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pathlib
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REGION = "us-east-1"
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 30.0, interval: float = 0.05):
    """Polls `check` until it returns a truthy value (readiness check, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as e:  # noqa: BLE001 - readiness probes fail until ready
            last_error = e
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s (last error: {last_error})")


# --- certificates -----------------------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key, path: pathlib.Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


class CertificateAuthority:
    """A test CA that issues server certificates."""

    def __init__(self, directory: pathlib.Path, name: str):
        now = datetime.datetime.now(datetime.timezone.utc)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.path = directory / f"{name}.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, directory: pathlib.Path, stem: str, dns=(), ips=()) -> tuple[pathlib.Path, pathlib.Path]:
        now = datetime.datetime.now(datetime.timezone.utc)
        key = ec.generate_private_key(ec.SECP256R1())
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(stem))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path = directory / f"{stem}.crt"
        key_path = directory / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        return cert_path, key_path


# --- PostgreSQL -------------------------------------------------------------------------------

def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.getuid() == 0 else cmd


class PostgresCluster:
    """A throwaway PostgreSQL cluster with TLS on, listening on 127.0.0.1 only.

    The server certificate names only the IP 127.0.0.1, so connecting to "localhost" with
    verify-full is a host-name mismatch while 127.0.0.1 verifies.
    """

    SUPERUSER_PASSWORD = "super-" + uuid.uuid4().hex

    def __init__(self, extra_conf: dict[str, str] | None = None, dns_names: tuple[str, ...] = ()):
        self.extra_conf = extra_conf or {}
        self.dns_names = tuple(dns_names)
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="pgcj-pg-"))
        os.chmod(self.tmp, 0o755)
        self.data = self.tmp / "data"
        self.port = free_port()
        self.host = "127.0.0.1"
        self.certs = self.tmp / "certs"
        self.certs.mkdir()
        self.ca = CertificateAuthority(self.certs, "test-root-ca")
        self.other_ca = CertificateAuthority(self.certs, "unrelated-ca")
        self.started = False

    def start(self) -> "PostgresCluster":
        pwfile = self.tmp / "pw"
        pwfile.write_text(self.SUPERUSER_PASSWORD)
        server_crt, server_key = self.ca.issue(self.certs, "server", dns=self.dns_names, ips=["127.0.0.1"])
        if os.getuid() == 0:
            shutil.chown(self.tmp, "postgres", "postgres")
            for p in [pwfile, server_crt, server_key]:
                shutil.chown(p, "postgres", "postgres")
        os.chmod(server_key, 0o600)
        subprocess.run(
            _as_postgres(["initdb", "-D", str(self.data), "-U", "postgres", f"--pwfile={pwfile}",
                          "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True,
        )
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.tmp}'",
            "ssl": "on",
            "ssl_cert_file": f"'{server_crt}'",
            "ssl_key_file": f"'{server_key}'",
            "fsync": "off",
            "max_connections": "50",
            **self.extra_conf,
        }
        with open(self.data / "postgresql.conf", "a") as f:
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        (self.data / "pg_hba.conf").write_text(
            "local all all scram-sha-256\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostnossl all all 127.0.0.1/32 reject\n"
        )
        if os.getuid() == 0:
            shutil.chown(self.data / "pg_hba.conf", "postgres", "postgres")
        subprocess.run(
            _as_postgres(["pg_ctl", "-D", str(self.data), "-l", str(self.tmp / "server.log"), "-w", "-t", "60", "start"]),
            check=True, capture_output=True,
        )
        self.started = True
        return self

    def kill(self) -> None:
        """Stops the server the hard way (immediate shutdown: every backend ends at once)."""
        subprocess.run(_as_postgres(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop"]),
                       capture_output=True, timeout=60)

    @property
    def log_text(self) -> str:
        return (self.tmp / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.started:
            self.kill()
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)

    def psql(self, sql: str, db: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        env = dict(os.environ, PGPASSWORD=password or self.SUPERUSER_PASSWORD, PGSSLMODE="verify-full",
                   PGSSLROOTCERT=str(self.ca.path))
        out = subprocess.run(
            ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port),
             "-U", user, "-d", db, "-c", sql],
            env=env, capture_output=True, text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr}")
        return out.stdout.strip()

    def create_user(self, name: str, password: str, db: str = "postgres") -> None:
        self.psql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        self.psql(f"GRANT ALL ON SCHEMA public TO {name}", db=db)
        self.psql(f"GRANT CREATE ON DATABASE {db} TO {name}")

    def secret_json(self, user: str, password: str, db: str = "postgres", host: str | None = None) -> str:
        return json.dumps({"engine": "postgres", "host": host or self.host, "port": self.port,
                           "username": user, "password": password, "dbname": db})


# --- moto -------------------------------------------------------------------------------------

class MotoServer:
    """moto_server (a real AWS API server) on 127.0.0.1."""

    def __init__(self, venv_bin: pathlib.Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = shutil.which("moto_server", path=str(venv_bin) if venv_bin else None)
        if not exe:
            raise RuntimeError("moto_server not found: run the tests through `make test` (it creates .venv)")
        self.log = tempfile.NamedTemporaryFile(prefix="pgcj-moto-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).status == 200,
                 "moto_server")

    def client(self, service: str):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def env(self) -> dict[str, str]:
        return dict(AWS_TEST_ENV, AWS_ENDPOINT_URL=self.url)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        os.unlink(self.log.name)


# --- the runner -------------------------------------------------------------------------------

class RunResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        lines = [l for l in proc.stdout.splitlines() if l.strip()]
        self.report = json.loads(lines[-1]) if lines else None

    def __repr__(self):
        return f"exit={self.code}\nstdout={self.stdout}\nstderr={self.stderr}"


def deployed_env(lam, name: str) -> dict[str, str]:
    """A deployed function's environment as Lambda gives it to bootstrap: its variables and
    `_HANDLER`, the function's handler setting (which picks the program)."""
    cfg = lam.get_function_configuration(FunctionName=name)
    return {**cfg["Environment"]["Variables"], "_HANDLER": cfg["Handler"]}


def run_oneshot(binary: str, env: dict[str, str], *args: str, timeout: float = 60) -> RunResult:
    """Runs the real binary in one-shot mode with exactly `env` (plus PATH)."""
    full_env = {"PATH": os.environ["PATH"], **env}
    proc = subprocess.run([binary, *args], env=full_env, capture_output=True, text=True, timeout=timeout)
    return RunResult(proc)


class RuntimeApi:
    """The Lambda Runtime API (2018-06-01) on loopback: hands events to a bootstrap process and
    collects what it posts back, the way the Lambda service does."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        self.results: dict[str, queue.Queue] = {}
        self.init_errors: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _reply(self, code=202, body=b"{}", headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.endswith("/runtime/invocation/next"):
                    request_id, payload, deadline_ms, arn = api.events.get()
                    self._reply(200, json.dumps(payload).encode(), {
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": arn,
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                        "Content-Type": "application/json",
                    })
                else:
                    self._reply(404)

            def do_POST(self):
                body = self._body()
                parts = self.path.split("/")
                if "init" in parts:
                    api.init_errors.append(json.loads(body or b"{}"))
                    self._reply()
                    return
                request_id, kind = parts[-2], parts[-1]
                api.results.setdefault(request_id, queue.Queue()).put(
                    (kind, json.loads(body) if body else None, dict(self.headers)))
                self._reply()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.proc = None

    def start_bootstrap(self, binary: str, env: dict[str, str], function_name: str = "pg-cron-job-test",
                        launcher: tuple[str, ...] = ()):
        """Starts `binary` as Lambda would (with `launcher` in front, e.g. an emulator)."""
        self.function_name = function_name
        self.arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        full_env = {
            "PATH": os.environ["PATH"],
            "AWS_LAMBDA_RUNTIME_API": self.address,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "test-stream",
            "_HANDLER": "job",  # Lambda sets it from the function's handler; env may say otherwise
            **env,
        }
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([*launcher, binary], env=full_env, stdout=self.stderr, stderr=self.stderr)

    def invoke(self, payload: dict, timeout_s: float = 30, arn: str | None = None):
        """Delivers one event; returns ("response"|"error", body)."""
        request_id = str(uuid.uuid4())
        deadline_ms = int((time.time() + timeout_s) * 1000)
        self.results.setdefault(request_id, queue.Queue())
        self.events.put((request_id, payload, deadline_ms, arn or self.arn))
        try:
            kind, body, _ = self.results[request_id].get(timeout=timeout_s + 30)
        except queue.Empty:
            raise AssertionError(f"bootstrap posted no result; its logs:\n{self.logs()}") from None
        return kind, body

    def logs(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        self.server.shutdown()
        self.server.server_close()


# --- Terraform against moto -------------------------------------------------------------------

TF_SERVICES = ["lambda", "iam", "ec2", "sts", "secretsmanager", "scheduler", "sns", "sqs",
               "cloudwatch", "logs", "rds", "kms", "s3", "events", "ssm"]


def terraform(workdir, *args, env=None, echo=False, timeout=900):
    """Runs terraform (at most `timeout` seconds); raises with its output when it fails."""
    proc = subprocess.run(["terraform", *args], cwd=workdir, env=env, capture_output=not echo, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"terraform {' '.join(args)} failed:\n{(proc.stdout or '')[-4000:]}\n{(proc.stderr or '')[-4000:]}")
    return proc.stdout


def prepare_example(example: pathlib.Path, module: pathlib.Path, moto: "MotoServer", package: str, name: str):
    """Copies an example to a temp dir, points its module source at `module` and its provider at
    moto (an override file: endpoints, dummy credentials, skip flags); returns (dir, env)."""
    # The example's ../../modules/<name> sources (and the modules' own ../<name> calls) must stay
    # inside one package: copy the modules next to the example, as in the repository.
    root = pathlib.Path(tempfile.mkdtemp(prefix="pgcj-tf-"))
    skip = shutil.ignore_patterns(".terraform*", "*.tfstate*", "tests")
    shutil.copytree(module.parent, root / "modules", ignore=skip)
    work = root / "examples" / example.name
    shutil.copytree(example, work, ignore=skip)
    # Moto gap: before deleting a VPC function the provider moves it to its VPC's default security
    # group (replace_security_groups_on_destroy), which moto's DescribeSecurityGroups does not
    # return for the example's VPC ("default security group: empty result"). AWS always has one.
    # An override file (Terraform merges it into the module's blocks) turns that step off here;
    # the module test asserts the setting.
    (root / "modules" / "pg_cron_job" / "moto_override.tf").write_text(
        "".join(f'resource "aws_lambda_function" "{r}" {{\n  replace_security_groups_on_destroy = false\n}}\n'
                for r in ("this", "rotation")))
    endpoints = "\n".join(f'    {s} = "{moto.url}"' for s in TF_SERVICES)
    (work / "provider_override.tf").write_text(f"""
provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true # the local server's S3 has no per-bucket host names
  endpoints {{
{endpoints}
  }}
}}
""")
    env = dict(os.environ, TF_IN_AUTOMATION="1", TF_VAR_region=REGION, TF_VAR_name=name, TF_VAR_package_path=package)
    plugin_dir = os.environ.get("TF_PLUGIN_DIR")
    terraform(work, "init", "-input=false", *([f"-plugin-dir={plugin_dir}"] if plugin_dir else []), env=env)
    return work, env


def seed_purge_database(pg: "PostgresCluster", password: str) -> None:
    """The DBA's one-time set-up for examples/complete's purge job: database app, the job role
    with the password from its secret, and 200 days of events (111 older than 90 days)."""
    pg.psql("DROP DATABASE IF EXISTS app")
    pg.psql("DROP ROLE IF EXISTS purge_job")
    pg.psql("CREATE DATABASE app")
    pg.psql(f"CREATE ROLE purge_job LOGIN PASSWORD '{password}'")
    pg.psql("GRANT CREATE ON DATABASE app TO purge_job")
    pg.psql("""
        CREATE SCHEMA app;
        CREATE TABLE app.events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
        CREATE TABLE app.event_audit (event_id bigint REFERENCES app.events(id), note text);
        INSERT INTO app.events SELECT g, now() - (g || ' days')::interval - interval '1 hour' FROM generate_series(1, 200) g;
        INSERT INTO app.event_audit SELECT id, 'x' FROM app.events WHERE id % 2 = 0;
        GRANT USAGE ON SCHEMA app TO purge_job;
        GRANT SELECT, DELETE ON app.events, app.event_audit TO purge_job;
    """, db="app")


def built_package(env_var: str, arch: str) -> str:
    """The package zip named by `env_var`, else .build/<arch>'s; fails the test if it is missing."""
    root = pathlib.Path(__file__).resolve().parents[1]
    path = os.environ.get(env_var, str(root / ".build" / arch / "pg-cron-job.zip"))
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: run through `make test` (it builds the {arch} package)")
    return os.path.abspath(path)


def unpack_package(package: str) -> pathlib.Path:
    """Extracts the Lambda zip the way Lambda does (LAMBDA_TASK_ROOT); returns the directory."""
    import zipfile
    task_root = pathlib.Path(tempfile.mkdtemp(prefix="pgcj-task-"))
    with zipfile.ZipFile(package) as z:
        z.extractall(task_root)
    (task_root / "bootstrap").chmod(0o755)
    return task_root
