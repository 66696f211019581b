#!/usr/bin/env python3
"""Assemble the Lambda package: bootstrap (the release binary), the CA bundle, SQL files.

Usage: package.py OUT_ZIP BOOTSTRAP [--ca-bundle PEM] [--sql-dir DIR]

Entries get a fixed timestamp and mode so the same inputs give the same zip (and the same
`source_code_hash`, so Terraform does not redeploy an unchanged function).
"""
import argparse
import hashlib
import json
import pathlib
import sys
import zipfile

FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data, compresslevel=9)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("bootstrap")
    p.add_argument("--ca-bundle")
    p.add_argument("--sql-dir")
    a = p.parse_args()

    bootstrap = pathlib.Path(a.bootstrap).read_bytes()
    out = pathlib.Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        add(zf, "bootstrap", bootstrap, 0o755)
        if a.ca_bundle:
            pem = pathlib.Path(a.ca_bundle).read_bytes()
            if b"-----BEGIN CERTIFICATE-----" not in pem:
                print(f"package: {a.ca_bundle} is not a PEM certificate bundle", file=sys.stderr)
                return 1
            add(zf, "global-bundle.pem", pem, 0o644)
        if a.sql_dir:
            root = pathlib.Path(a.sql_dir)
            files = sorted(root.rglob("*.sql"))
            for f in files:
                add(zf, "sql/" + f.relative_to(root).as_posix(), f.read_bytes(), 0o644)
    tmp.replace(out)
    listing = {}
    with zipfile.ZipFile(out) as zf:
        for i in zf.infolist():
            print(f"  {i.filename:40} {i.file_size:>10} bytes")
            listing[i.filename] = hashlib.sha256(zf.read(i)).hexdigest()
    # What the package holds, for modules/pg_cron_job: a job's sql_file missing from the package
    # or packaged from another version than its sql_source_path fails at plan, not at 2 AM.
    side = out.with_name(out.name + ".files.json")
    side.write_text(json.dumps({"package": out.name, "files": listing}, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
