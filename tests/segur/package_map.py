"""The package map (which folder is which `segur.*` package), read from setup.py's ``ROOTS``, the one
place it is declared, without running setup.py; and the modules of the packages, found from it."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def package_roots(setup_py: Path = REPO / "setup.py") -> dict[str, Path]:
    """Package name -> folder, e.g. ``{"segur.mocks": REPO / "mocks", ...}``."""
    for node in ast.parse(setup_py.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "ROOTS" for t in node.targets):
            return {name: setup_py.parent / folder for name, folder in ast.literal_eval(node.value).items()}
    raise AssertionError(f"{setup_py} declares no ROOTS")


def modules_of(roots: dict[str, Path]) -> dict[str, Path]:
    """Every Python module of the packages: dotted name -> file."""
    found = {}
    for package, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found
