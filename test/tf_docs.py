#!/usr/bin/env python3
"""Generates (or with --check, verifies) the inputs and outputs tables, terraform-docs style,
between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS --> of every modules/*/README.md and
examples/*/README.md, from the directory's variables.tf and outputs.tf."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN_TF_DOCS -->\n", "<!-- END_TF_DOCS -->"


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
    """Top-level attribute `name = value` of a block body (validation blocks excluded); a value
    spanning several lines (object types) is joined into one."""
    depth = 0
    lines = body.splitlines()
    for n, line in enumerate(lines):
        stripped = line.strip()
        if depth == 0:
            m = re.match(rf"{name}\s*=\s*(.*)$", stripped)
            if m:
                value = m.group(1)
                if value.startswith('"'):
                    return re.match(r'"((?:[^"\\]|\\.)*)"', value).group(1).replace('\\"', '"')
                opened = value.count("(") + value.count("{") - value.count(")") - value.count("}")
                parts = [value]
                while opened > 0:
                    n += 1
                    nxt = lines[n].strip()
                    opened += nxt.count("(") + nxt.count("{") - nxt.count(")") - nxt.count("}")
                    parts.append(nxt)
                joined = parts[0] if len(parts) == 1 else f"{parts[0]} {', '.join(parts[1:-1])} {parts[-1]}"
                return re.sub(r"\s+", " ", joined)
        depth += stripped.count("{") - stripped.count("}")
    return None


def cell(s: str) -> str:
    return s.replace("|", "\\|")


def tables(directory: pathlib.Path) -> str:
    out = []
    variables = directory / "variables.tf"
    if variables.exists():
        out += ["## Inputs", "", "| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
        for name, body in blocks(variables.read_text(), "variable"):
            default = attr(body, "default")
            required = default is None
            shown = "n/a" if required else f"`{default}`" if default.startswith(("[", "{", "null", "true", "false")) or default[:1].isdigit() or default.startswith("-") else f'`"{default}"`'
            out.append(f"| `{name}` | {cell(attr(body, 'description'))} | `{cell(attr(body, 'type') or 'any')}` | {cell(shown)} | {'yes' if required else 'no'} |")
        out.append("")
    out += ["## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name, body in blocks((directory / "outputs.tf").read_text(), "output"):
        out.append(f"| `{name}` | {cell(attr(body, 'description'))} |")
    return "\n".join(out) + "\n"


def main() -> int:
    stale = []
    for readme in sorted([*ROOT.glob("modules/*/README.md"), *ROOT.glob("examples/*/README.md")]):
        text = readme.read_text()
        if BEGIN not in text:
            stale.append(f"{readme.relative_to(ROOT)} has no {BEGIN.strip()} section")
            continue
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        new = head + BEGIN + tables(readme.parent) + END + tail
        if new != text:
            if "--check" in sys.argv:
                stale.append(f"{readme.relative_to(ROOT)} tables are out of date with variables.tf/outputs.tf")
            else:
                readme.write_text(new)
    if stale:
        print("\n".join(stale) + "\nrun python3 test/tf_docs.py", file=sys.stderr)
        return 1
    if "--check" in sys.argv:
        print("README tables match variables.tf and outputs.tf")
    return 0


if __name__ == "__main__":
    sys.exit(main())
