"""The layers of the installed package hold: read statically (``ast``) from the source, never imported.

- `segur.kernel` (the bottom layer) imports nothing of the mocks, validators, scenarios, fixtures or
  console, even inside a function;
- no import cycle, imports inside functions included (the cycle is reported, module by module);
- no `importlib.import_module("literal")` / `__import__("literal")`: a module named by a string hides an
  edge of this graph; write the import;
- no import inside a function, unless a comment on its line or above it (saying "start-up", "measured" or
  naming `segur --help`) says which measured start-up cost it saves, or the module's docstring says so once
  for all its commands ("start-up" and "measured").

Which folder holds which package is read from setup.py (`ROOTS`), the one place it is declared.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from package_map import REPO, modules_of, package_roots

KERNEL = "segur.kernel"
LATE_IMPORT = "an import inside a function without a 'start-up' comment"
#: what a comment says when it explains a late import by the start-up cost it saves
STARTUP_WORDS = ("start-up", "segur --help", "measured")
ABOVE_THE_KERNEL = ("segur.mocks", "segur.validators", "segur.scenarios", "segur.fixtures", "segur.console")

# Modules that break a rule today, in areas other engineers own (issue 14): their branches remove their
# names; this list may only shrink (a listed module that no longer breaks any rule fails the test, so the
# list cannot rot). Never add a name to it. (The annuaire, dmp and insi modules listed say why their
# import waits, and what it costs, without the word "start-up" this test looks for.)
KNOWN_OFFENDERS = frozenset({
    # the reference RIS is an example, not an installed package: importable only once its folder is put on
    # sys.path, so it is imported after that, by name (not a start-up cost: there is no other way)
    "segur.scenarios.driver",
    "segur.scenarios.mutants.run",
})


@dataclass
class Imports:
    """What one module imports: at module level (`eager`), inside functions (`late`, with their line),
    and the lines naming a module by a literal string."""

    eager: set[str] = field(default_factory=set)
    late: list[tuple[int, str]] = field(default_factory=list)
    string_imports: list[int] = field(default_factory=list)
    uncommented_late: list[int] = field(default_factory=list)


def _comments(source: str) -> dict[int, str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.start[0]: token.string for token in tokens if token.type == tokenize.COMMENT}


def _comment_at(line: int, comments: dict[int, str], lines: list[str]) -> str:
    """The comment on `line` and the comment just above it (all its lines, when it spans several), or
    above the run of import lines `line` belongs to (one comment may explain a group of imports)."""
    said = [comments.get(line, "")]
    above = line - 1
    while above > 0 and lines[above - 1].lstrip().startswith(("import ", "from ")):
        above -= 1
    while above in comments and lines[above - 1].lstrip().startswith("#"):
        said.append(comments[above])
        above -= 1
    return " ".join(said)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known) -> list[str]:
    """The modules an import statement loads, as far as this project's modules go."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
    return submodules if len(submodules) == len(node.names) else [base, *submodules]


def _names_a_module_by_string(call: ast.Call) -> bool:
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
    if name not in ("import_module", "__import__") or not call.args:
        return False
    first = call.args[0]
    literal = isinstance(first, ast.Constant | ast.JoinedStr)
    return literal and not isinstance(getattr(first, "value", ""), bytes)


def read_imports(module: str, path: Path, known) -> Imports:
    source = path.read_text(encoding="utf-8")
    comments: dict[int, str] = {}  # tokenized when a late import needs them: most modules have none
    lines = source.splitlines()
    found = Imports()
    is_package = path.name == "__init__.py"
    # a module may state once, in its docstring, that its commands import late for a measured start-up cost
    policy = ast.get_docstring(ast.parse(source)) or ""
    declared = "start-up" in policy and "measured" in policy

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                targets = _targets(child, module, is_package, known)
                if in_function:
                    found.late.extend((child.lineno, target) for target in targets)
                    if not comments:
                        comments.update(_comments(source))
                    said = _comment_at(child.lineno, comments, lines)
                    if not declared and not any(word in said for word in STARTUP_WORDS):
                        found.uncommented_late.append(child.lineno)
                else:
                    found.eager.update(targets)
            elif isinstance(child, ast.Call) and _names_a_module_by_string(child):
                found.string_imports.append(child.lineno)
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, in_function or inner)

    visit(ast.parse(source, filename=str(path)), False)
    return found


def import_graph(roots: dict[str, Path]) -> dict[str, Imports]:
    modules = modules_of(roots)
    return {module: read_imports(module, path, modules) for module, path in modules.items()}


def cycles(graph: dict[str, Imports]) -> list[list[str]]:
    """One cycle per strongly connected component of the import graph (Tarjan). Imports inside functions
    count: a cycle they hide is still two modules that cannot be understood one without the other."""
    edges = {module: sorted({t for t in (*imports.eager, *(t for _, t in imports.late)) if t in graph})
             for module, imports in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges[module]:
            if target not in index:
                connect(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in edges[module]:
                components.append(set(component))

    for module in sorted(edges):
        if module not in index:
            connect(module)
    return [_one_cycle(component, edges) for component in components]


def _one_cycle(component: set[str], edges: dict[str, list[str]]) -> list[str]:
    """A path a -> b -> ... -> a inside one strongly connected component (breadth first: a short one)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for target in edges[module]:
            if target == start:
                return [*paths[module], start]
            if target in component and target not in paths:
                paths[target] = [*paths[module], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def offences(graph: dict[str, Imports]) -> dict[str, list[str]]:
    """Every rule broken, by module: what a reader needs to find and fix it."""
    found: dict[str, list[str]] = defaultdict(list)
    for module, imports in graph.items():
        if module == KERNEL or module.startswith(KERNEL + "."):
            upward = sorted({t for t in (*imports.eager, *(t for _, t in imports.late))
                             if t.startswith(ABOVE_THE_KERNEL)})
            found[module].extend(f"the kernel imports {target}" for target in upward)
        found[module].extend(f"line {line}: a module named by a string" for line in imports.string_imports)
        found[module].extend(f"line {line}: {LATE_IMPORT}" for line in imports.uncommented_late)
    for cycle in cycles(graph):
        for module in cycle[:-1]:
            found[module].append("import cycle " + " -> ".join(cycle))
    return {module: problems for module, problems in found.items() if problems}


# -- the project ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def project_offences() -> dict[str, list[str]]:
    return offences(import_graph(package_roots()))


def test_the_package_map_is_read_from_setup_py():
    roots = package_roots()
    assert roots["segur"] == REPO / "segur"
    assert roots["segur.mocks"] == REPO / "mocks"
    assert all(folder.is_dir() for folder in roots.values())


def test_no_module_breaks_a_layering_rule_except_the_known_offenders(project_offences):
    new = {module: problems for module, problems in project_offences.items() if module not in KNOWN_OFFENDERS}
    lines = [f"{module}: {problem}" for module, problems in sorted(new.items()) for problem in problems]
    report = "\n".join(lines)
    assert not new, f"layering rules broken (docs/architecture.md):\n{report}"


def test_every_known_offender_still_offends(project_offences):
    """A fixed module leaves KNOWN_OFFENDERS in the same commit, so the list only shrinks."""
    fixed = sorted(KNOWN_OFFENDERS - set(project_offences))
    assert fixed == [], f"no longer offending, remove from KNOWN_OFFENDERS: {fixed}"


def test_the_kernel_imports_nothing_above_it(project_offences):
    upward = {module: problems for module, problems in project_offences.items()
              if module.startswith(KERNEL) and any("the kernel imports" in p for p in problems)}
    assert upward == {}


# -- the rules themselves, on small packages written for the test -------------------------------

def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, Imports]:
    for name, text in {"__init__.py": "", "kernel/__init__.py": "", **files}.items():
        path = tmp_path / "segur" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "mocks").mkdir(exist_ok=True)
    (tmp_path / "mocks" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "mocks" / "thing.py").write_text("", encoding="utf-8")
    return import_graph({"segur": tmp_path / "segur", "segur.mocks": tmp_path / "mocks"})


def test_a_kernel_importing_a_mock_is_reported_even_inside_a_function(tmp_path):
    graph = _package(tmp_path, {"kernel/a.py": "def f():\n    # start-up: measured\n"
                                               "    from segur.mocks import thing\n"})
    assert offences(graph) == {"segur.kernel.a": ["the kernel imports segur.mocks.thing"]}


def test_a_kernel_importing_only_the_kernel_passes(tmp_path):
    graph = _package(tmp_path, {"kernel/a.py": "from segur.kernel import b\n", "kernel/b.py": "X = 1\n"})
    assert offences(graph) == {}


def test_an_import_cycle_is_reported_with_its_path(tmp_path):
    graph = _package(tmp_path, {"a.py": "from segur import b\n", "b.py": "from . import c\n",
                                "c.py": "import segur.a\n"})
    found = offences(graph)
    assert found["segur.a"] == ["import cycle segur.a -> segur.b -> segur.c -> segur.a"]
    assert set(found) == {"segur.a", "segur.b", "segur.c"}


def test_a_cycle_hidden_by_an_import_inside_a_function_is_still_a_cycle(tmp_path):
    graph = _package(tmp_path, {"a.py": "from segur import b\n",
                                "b.py": "def f():\n    from segur import a  # start-up: 0.2 s of --help\n"})
    assert offences(graph) == {"segur.a": ["import cycle segur.a -> segur.b -> segur.a"],
                               "segur.b": ["import cycle segur.a -> segur.b -> segur.a"]}


def test_an_import_inside_a_function_needs_a_start_up_comment(tmp_path):
    graph = _package(tmp_path, {"a.py": "def f():\n    import json\n    return json\n"})
    assert offences(graph) == {"segur.a": [f"line 2: {LATE_IMPORT}"]}


def test_a_start_up_comment_may_span_the_lines_above_the_import(tmp_path):
    graph = _package(tmp_path, {"a.py": "def f():\n    # imported here: 0.1 s of every start-up\n"
                                        "    # (measured)\n    import json\n    return json\n"})
    assert offences(graph) == {}


def test_a_start_up_comment_may_explain_a_group_of_imports(tmp_path):
    graph = _package(tmp_path, {"a.py": "def f():\n    # start-up: 0.1 s (measured)\n    import json\n"
                                        "    import csv\n    return json, csv\n"})
    assert offences(graph) == {}


def test_a_start_up_comment_two_statements_above_does_not_count(tmp_path):
    graph = _package(tmp_path, {"a.py": "def f():\n    # start-up\n    x = 1\n    import json\n"})
    assert list(offences(graph)) == ["segur.a"]


def test_a_start_up_word_in_code_is_not_a_comment(tmp_path):
    graph = _package(tmp_path, {"a.py": "def f():\n    import json; start_up = 'start-up'\n"})
    assert list(offences(graph)) == ["segur.a"]


def test_a_module_named_by_a_literal_string_is_reported(tmp_path):
    by_name = "import importlib\nX = importlib.import_module('segur.mocks.thing')\n"
    graph = _package(tmp_path, {"a.py": by_name, "b.py": "Y = __import__('json')\n"})
    assert offences(graph) == {"segur.a": ["line 2: a module named by a string"],
                               "segur.b": ["line 1: a module named by a string"]}


def test_a_module_level_import_in_a_class_or_try_block_is_eager(tmp_path):
    graph = _package(tmp_path, {"a.py": "try:\n    from segur import b\nexcept ImportError:\n    b = None\n",
                                "b.py": "class C:\n    from segur import a\n"})
    assert "import cycle segur.a -> segur.b -> segur.a" in offences(graph)["segur.a"]
