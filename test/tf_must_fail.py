#!/usr/bin/env python3
"""Plan-time errors that `expect_failures` cannot name (type errors of the jobs map, validation
failures inside a nested module): every modules/*/tests/must_fail/*.tftest.hcl must FAIL under
`terraform test`, and its output must contain the text after its first line's "# expect: " (and none
of the texts of its "# absent: " lines: a message stays short, without the module's internals)."""
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
    absent = re.findall(r"^# absent: (.*)$", case.read_text(), re.M)
    proc = subprocess.run(["terraform", "test", "-no-color", "-test-directory=tests/must_fail", f"-filter=tests/must_fail/{case.name}"],
                          cwd=module, capture_output=True, text=True, timeout=600)
    out = " ".join((proc.stdout + proc.stderr).split())
    present = [a for a in absent if a in out]
    ok = proc.returncode != 0 and " ".join(expect.split()) in out and not present
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {case.relative_to(ROOT)}: fails at plan with \"{expect}\"")
    if present:
        print(f"     ... but the output also contains {present}")
    if not ok:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
print(f"{len(cases) - failures}/{len(cases)} must-fail cases failed as expected")
sys.exit(1 if failures or not cases else 0)
