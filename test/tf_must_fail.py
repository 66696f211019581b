#!/usr/bin/env python3
"""Plan-time errors that `expect_failures` cannot name (type errors of the jobs map, validation
failures inside a nested module): every modules/*/tests/must_fail/*.tftest.hcl must FAIL under
`terraform test`, and its output must contain the text after its first line's "# expect: "."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
failures = 0
cases = sorted(ROOT.glob("modules/*/tests/must_fail/*.tftest.hcl"))
for case in cases:
    module = case.parents[2]
    expect = re.match(r"# expect: (.*)", case.read_text().splitlines()[0]).group(1)
    proc = subprocess.run(["terraform", "test", "-no-color", "-test-directory=tests/must_fail", f"-filter=tests/must_fail/{case.name}"],
                          cwd=module, capture_output=True, text=True, timeout=600)
    out = " ".join((proc.stdout + proc.stderr).split())
    ok = proc.returncode != 0 and " ".join(expect.split()) in out
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {case.relative_to(ROOT)}: fails at plan with \"{expect}\"")
    if not ok:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
print(f"{len(cases) - failures}/{len(cases)} must-fail cases failed as expected")
sys.exit(1 if failures or not cases else 0)
