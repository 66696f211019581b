#!/usr/bin/env python3
"""Generates (or with --check, verifies) the inputs and outputs tables of
modules/pg_cron_job/README.md from variables.tf and outputs.tf, terraform-docs style."""
import pathlib
import re
import sys

MODULE = pathlib.Path(__file__).resolve().parent.parent / "modules" / "pg_cron_job"
README = MODULE / "README.md"


def blocks(text: str, kind: str):
    for m in re.finditer(rf'^{kind} "([^"]+)" {{', text, re.M):
        depth, i = 0, m.end() - 1
        while True:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            elif text[i] == '"':
                i += 1
                while text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
            i += 1
        yield m.group(1), text[m.end():i]


def attr(body: str, name: str):
    """Top-level attribute `name = value` of a block body (validation blocks excluded)."""
    depth = 0
    for line in body.splitlines():
        stripped = line.strip()
        if depth == 0:
            m = re.match(rf"{name}\s*=\s*(.*)$", stripped)
            if m:
                value = m.group(1)
                if value.startswith('"'):
                    return re.match(r'"((?:[^"\\]|\\.)*)"', value).group(1).replace('\\"', '"')
                return value
        depth += stripped.count("{") - stripped.count("}")
    return None


def cell(s: str) -> str:
    return s.replace("|", "\\|")


def tables() -> str:
    out = ["## Inputs", "", "| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
    for name, body in blocks((MODULE / "variables.tf").read_text(), "variable"):
        default = attr(body, "default")
        required = default is None
        shown = "n/a" if required else f"`{default}`" if default.startswith(("[", "{", "null", "true", "false")) or default[:1].isdigit() or default.startswith("-") else f'`"{default}"`'
        out.append(f"| `{name}` | {cell(attr(body, 'description'))} | `{cell(attr(body, 'type'))}` | {cell(shown)} | {'yes' if required else 'no'} |")
    out += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name, body in blocks((MODULE / "outputs.tf").read_text(), "output"):
        out.append(f"| `{name}` | {cell(attr(body, 'description'))} |")
    return "\n".join(out) + "\n"


def main() -> int:
    begin, end = "<!-- BEGIN_TF_DOCS -->\n", "<!-- END_TF_DOCS -->"
    text = README.read_text()
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = head + begin + tables() + end + tail
    if "--check" in sys.argv:
        if new != text:
            print("modules/pg_cron_job/README.md tables are out of date with variables.tf/outputs.tf: run python3 test/tf_docs.py", file=sys.stderr)
            return 1
        print("module README tables match variables.tf and outputs.tf")
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
