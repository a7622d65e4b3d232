"""The DMP mock keeps the kit's shape (issue 14): the domain never imports the wire, no import cycle, no
import inside a function but the two `service.py` defers for `segur --help` (measured, commented)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "mocks" / "dmp"
PREFIX = "segur.mocks.dmp."
#: The wire's modules, and what the domain (models and what it imports) may not import.
WIRE = {"responses", "soap", "mtom", "ebrim", "journal", "service", "testing"}
DOMAIN = {"models", "queries", "updates", "metadata_rules", "xds_metadata", "visibility", "calls", "storage"}
DEFERRED = {("service", "segur.mocks.dmp.models"), ("service", "segur.mocks.dmp.responses"),
            ("service", "segur.mocks.dmp.storage_pg")}  # psycopg: ~60 ms of `segur --help`


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(encoding="utf-8")) for path in PACKAGE.glob("*.py")}


def _imported(node: ast.AST) -> list[str]:
    """The DMP modules an import statement names (relative imports resolved against the package)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        base = PREFIX + base if base else PREFIX.rstrip(".")
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [base, *names]


def _dmp_imports(tree: ast.Module, top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        for name in _imported(node):
            if name.startswith(PREFIX) and name.count(".") == 3:
                found.add(name.removeprefix(PREFIX))
    return found


def test_no_import_inside_a_function_but_the_measured_start_up_cost():
    inside = set()
    for name, tree in _modules().items():
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                inside |= {(name, imported) for imported in _imported(node)[:1]}
    assert inside == DEFERRED


def test_the_domain_never_imports_the_wire():
    modules = _modules()
    for name in DOMAIN:
        assert not _dmp_imports(modules[name], top_level_only=False) & WIRE, name
        assert "lxml" not in ast.dump(modules[name]), name


def test_no_import_cycle_between_the_dmp_modules():
    modules = _modules()
    graph = {name: _dmp_imports(tree, top_level_only=False) & set(modules) for name, tree in modules.items()}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    assert [name for name in graph if reaches(name, name, {name})] == []
