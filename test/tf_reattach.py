#!/usr/bin/env python3
"""Runs a command with one long-lived AWS provider process that every terraform in it attaches
to (TF_REATTACH_PROVIDERS), instead of terraform starting the provider anew for each run of
`terraform test` (twice per run: about a CPU-second each time, most of `make tf-test`'s time).

  test/tf_reattach.py MODULE_DIR -- COMMAND...

MODULE_DIR is an initialised module (its .terraform holds the provider binary). The provider is
started in its debug mode (the mode terraform's own provider tests use), its reattach address
read from its first lines (bounded wait), the command run, the provider stopped; the command's
exit status is returned. Only `terraform test` / `validate` runs use it: nothing here applies."""
import json
import os
import pathlib
import re
import select
import subprocess
import sys
import time

START_TIMEOUT = 60.0
MAX_BANNER = 64 * 1024


def provider_binary(module: pathlib.Path) -> pathlib.Path:
    found = sorted((module / ".terraform" / "providers").glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*"))
    if not found:
        raise SystemExit(f"tf_reattach: no AWS provider under {module}/.terraform/providers: run terraform init there first")
    return found[-1].resolve()


def start(binary: pathlib.Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([str(binary), "-debug"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    banner, deadline = b"", time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and len(banner) < MAX_BANNER:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        banner += chunk
        m = re.search(rb"TF_REATTACH_PROVIDERS='([^']+)'", banner)
        if m:
            json.loads(m.group(1))  # a malformed address fails here, not in terraform
            # The provider keeps logging to stdout: drain it so it never blocks on a full pipe.
            subprocess.Popen(["cat"], stdin=proc.stdout, stdout=subprocess.DEVNULL)
            return proc, m.group(1).decode()
    proc.kill()
    raise SystemExit(f"tf_reattach: {binary.name} -debug printed no reattach address within {START_TIMEOUT:.0f} s "
                     f"(first output: {banner[:500]!r})")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit("usage: tf_reattach.py MODULE_DIR -- COMMAND...")
    proc, reattach = start(provider_binary(pathlib.Path(argv[0])))
    try:
        return subprocess.run(argv[2:], env=dict(os.environ, TF_REATTACH_PROVIDERS=reattach)).returncode
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
