"""The workspace's layout, as the workstation and the Lambda package see it: the CLI installs
without any AWS SDK, the Lambda package holds no importer code, and no Rust module imports one
that imports it back (directly or through others)."""
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CRATES = {"core": "pg_cron_job_core", "schedule": "pg_cron_job_schedule", "functions": "pg_cron_job_lambda",
          "cli": "pg_cron_job_cli"}


def cargo_tree(package: str) -> list[str]:
    """Every crate `package` depends on for any target (macOS included), build scripts too."""
    proc = subprocess.run(
        ["cargo", "tree", "-p", package, "-e", "normal,build", "--prefix", "none", "--target", "all"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return sorted({line.split(" ")[0] for line in proc.stdout.splitlines() if line.strip()})


def test_cli_has_no_aws_sdk():
    deps = cargo_tree("pg-cron-job-cli")
    assert "pg-cron-job-core" in deps
    aws = [d for d in deps if d.startswith("aws-") or d in ("lambda_runtime", "pg-cron-job-lambda")]
    assert aws == [], f"the workstation CLI pulls in {aws}"


@pytest.mark.parametrize("package", ["pg-cron-job-core", "pg-cron-job-schedule"])
def test_shared_crates_have_no_aws_sdk(package):
    deps = cargo_tree(package)
    assert [d for d in deps if d.startswith("aws-")] == []


def test_lambda_package_has_no_importer():
    assert "pg-cron-job-cli" not in cargo_tree("pg-cron-job-lambda")
    bootstrap = os.environ.get("PG_CRON_JOB_BIN", str(ROOT / ".build" / "x86_64" / "bin" / "bootstrap"))
    if not os.path.exists(bootstrap):
        pytest.fail(f"{bootstrap} not found: run through `make test` (it builds the package)")
    data = pathlib.Path(bootstrap).read_bytes()
    cli_source = "".join(p.read_text() for p in (ROOT / "lambda/cli/src").rglob("*.rs"))
    # Texts only the importer has: its usage line, refusals and notes of its own. (Time zone
    # names are no marker: the watchdog carries the schedule crate's time-zone database too.)
    for marker, source in [("COPY text dump of cron.job", cli_source),
                           ("--split-or emits two schedules", cli_source),
                           ("the port is the fleet's database_port", cli_source)]:
        assert marker in source, f"{marker!r} is no longer in the importer: pick another marker"
        assert marker.encode() not in data, f"bootstrap contains importer text {marker!r}"


def module_graph(crate_dir: pathlib.Path) -> dict[str, set[str]]:
    """Module -> modules it names (`crate::a::b`, `super::x`, `self::y`, a child's `x::` after
    `mod x;`), one node per file; inline `#[cfg(test)] mod tests` blocks are left out."""
    src = crate_dir / "src"
    graph: dict[str, set[str]] = {}
    files = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "mod":
            parts = parts[:-1]
        if parts in (["lib"], ["main"]):
            parts = []
        files["::".join(parts)] = path
    modules = set(files)

    def resolve(base: list[str], segs: list[str]) -> str | None:
        # The longest prefix of base+segs that is a module file.
        full = base + segs
        for n in range(len(full), -1, -1):
            name = "::".join(full[:n])
            if name in modules:
                return name
        return None

    for name, path in files.items():
        text = path.read_text()
        cut = re.search(r"^#\[cfg\(test\)\]\s*\nmod tests", text, re.M)
        if cut:
            text = text[:cut.start()]
        text = re.sub(r"//[^\n]*", "", text)
        me = name.split("::") if name else []
        children = set(re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text, re.M))
        deps = set()
        for m in re.finditer(r"\b(crate|super|self)((?:::\w+)*)(?:::\{([^}]*)\})?", text):
            root = m.group(1)
            segs = [s for s in m.group(2).split("::") if s]
            base = [] if root == "crate" else me[:-1] if root == "super" else me
            items = [i.strip().split("::")[0] for i in (m.group(3) or "").split(",") if i.strip()]
            for item in items or [None]:
                target = resolve(base, segs + ([item] if item and item != "self" else []))
                if target is not None:
                    deps.add(target)
        # `use x::...` / `x::f()` of a child module declared with `mod x;`.
        for child in children:
            if re.search(rf"\b{child}::", text):
                deps.add("::".join(me + [child]))
        deps.discard(name)
        graph[name] = deps
    return graph


def cycles(graph):
    found, state, stack = [], {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    return found


@pytest.mark.parametrize("crate", sorted(CRATES))
def test_no_module_imports_one_that_imports_it_back(crate):
    graph = module_graph(ROOT / "lambda" / crate)
    assert len(graph) > 1
    found = cycles(graph)
    assert found == [], "module cycles in lambda/{}: {}".format(
        crate, "; ".join(" -> ".join(c or "(crate root)" for c in cycle) for cycle in found))


def test_the_cycle_check_finds_a_cycle(tmp_path):
    """The check itself: two modules naming each other are reported."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src/lib.rs").write_text("mod a;\nmod b;\n")
    (tmp_path / "src/a.rs").write_text("use crate::b::B;\npub struct A;\n")
    (tmp_path / "src/b.rs").write_text("pub struct B(crate::a::A);\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n")
    assert cycles(module_graph(tmp_path)) == [["a", "b", "a"]]
