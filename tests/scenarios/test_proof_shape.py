"""How the proof is built: a check is judged once per run (the evidence pack shows the result its test
recorded), settings travel as arguments (no environment variable set behind the tests' backs, so tests do
not depend on their order), and the modules of `scenarios/` import each other without a cycle and at the
top (inside a function only for a measured start-up cost)."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from segur.scenarios import checks
from segur.scenarios.proof import run_proof
from segur.scenarios.stack import stack_config
from segur.scenarios.suites import suite_plugins
from segur.up import start_stack

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
#: where an import inside a function is allowed, and why (said in a comment beside it)
LAZY_IMPORTS = {
    ("cli.py", "*"): "segur --help start-up cost, measured (module doc)",
    ("mutants/cli.py", "main"): "segur --help start-up cost, measured",
    ("plugin.py", "segur_stack"): "every pytest session's cost, measured",
    ("plugin.py", "segur_driver"): "every pytest session's cost, measured",
    ("plugin.py", "segur_proof_run"): "every pytest session's cost, measured",
    ("mutants/run.py", "wire_module"): "the reference RIS is importable only once its folder is on the path",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SCENARIOS).with_suffix("").parts
    return ".".join(("segur", "scenarios", *(p for p in parts if p != "__init__")))


def _inner_imports(path: Path) -> list[tuple[str, int]]:
    """(function, line) of each import statement inside a function of a source file."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [(function.name, node.lineno) for node in ast.walk(function)
                      if isinstance(node, ast.Import | ast.ImportFrom)]
    return found


def test_no_import_inside_a_function_but_a_measured_start_up_cost():
    for path in sorted(SCENARIOS.rglob("*.py")):
        where = path.relative_to(SCENARIOS).as_posix()
        for function, line in _inner_imports(path):
            allowed = (where, function) in LAZY_IMPORTS or (where, "*") in LAZY_IMPORTS
            assert allowed, f"{where}:{line} {function}"


def _top_level_graph() -> dict[str, set[str]]:
    """segur.scenarios module → the segur.scenarios modules it imports at module level."""
    paths = {_module_name(p): p for p in SCENARIOS.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base])
                imported |= {f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        graph[name] = {m for m in imported if m in paths and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for child in sorted(graph[node]):
            if state.get(child) == 1:
                return [*path, node, child]
            if child not in state and (found := visit(child, [*path, node])):
                return found
        state[node] = 2
        return None

    return next((found for node in sorted(graph) if node not in state and (found := visit(node, []))), None)


def test_the_modules_of_scenarios_import_each_other_without_a_cycle():
    graph = _top_level_graph()
    assert "segur.scenarios.plugin" in graph["segur.scenarios.proof"]
    assert _cycle(graph) is None, " → ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# --- settings as arguments ---------------------------------------------------------------------------------
def test_a_stack_started_with_a_pack_gives_it_to_the_mocks_and_sets_no_environment_variable(
        tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_PACK", raising=False)
    pack = tmp_path / "pack"
    pack.mkdir()
    with start_stack(stack_config(None, tmp_path, pack=pack)) as stack:
        assert "SEGUR_PACK" not in os.environ
        assert stack.services["dmp"].context.pack == pack
        validate = stack.services["mssante"].backend._validate
        assert validate.keywords == {"pack": str(pack)}  # the MSSanté mock validates with it


@pytest.mark.slow
def test_the_plugin_tests_then_the_cli_tests_pass_in_one_process():
    """The order that used to fail: the plugin's in-process pytester runs, then `segur proof` on the command
    line (its pack and modules came from the earlier tests)."""
    tests = REPO / "tests" / "scenarios"
    plugin, cli = tests / "test_proof_plugin.py", tests / "test_proof_cli.py"
    selected = [f"{plugin}::test_k_selection_and_an_editors_own_scenario_against_the_reference_ris",
                f"{cli}::test_a_sut_that_cannot_start_is_refused_before_the_mocks_start",
                f"{cli}::test_a_proof_of_the_core_alone_says_it_is_partial"]  # the CLI proof of fewest tasks
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selected]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


# --- the check suites' own pytest session ---------------------------------------------------------------
def _allure_fixtures(allure_dir: Path) -> set[str]:
    """The fixtures allure recorded around the check tests (its *-container.json files)."""
    return {step["name"] for path in allure_dir.glob("*-container.json")
            for step in json.loads(path.read_text(encoding="utf-8")).get("befores", [])}


def test_the_check_suites_session_loads_the_proof_s_plugin_and_allure_and_no_other(clean_proof):
    fixtures = _allure_fixtures(clean_proof("RIS").out / "allure-results")
    assert {"segur_check", "segur_proof_run"} <= fixtures  # the proof's plugin, recorded by allure's
    assert "_session_faker" not in fixtures  # the autouse fixture of faker's plugin, installed beside


def test_the_check_suites_load_every_installed_plugin_when_pytest_addopts_may_name_one(monkeypatch):
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    assert suite_plugins() == ["--disable-plugin-autoload", "-p", "segur", "-p", "allure_pytest"]
    monkeypatch.setenv("PYTEST_ADDOPTS", "--timeout=60")
    assert suite_plugins() == []


# --- judged once
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_each_check_is_judged_once_per_proof_and_the_pack_shows_that_judgement(tmp_path, monkeypatch):
    calls = []
    original = checks.CHECKS["insi-before-send"]

    def counting(run):
        calls.append(1)
        result = original.judge(run)
        result.summary = f"judgement #{len(calls)}"
        return result

    monkeypatch.setitem(checks.CHECKS, "insi-before-send", dataclasses.replace(original, judge=counting))
    with start_stack(stack_config(None, tmp_path / "stack")) as stack:
        outcome = run_proof("reference-ris", "RIS", tmp_path / "out", size="small", progress=False,
                            stack=stack, capabilities=())  # the core's tasks: insi-before-send judges those
    assert len(calls) == 1
    assert outcome.evidence["checks"]["insi-before-send"]["summary"] == "judgement #1"
    assert outcome.verdict == "pass", outcome.evidence["checks"]["insi-before-send"]["problems"]
    # every exchange of a task was tagged with it by the mocks before the product got the task
    for task in outcome.evidence["run"]["tasks"]:
        assert sorted(task["tagged"]) == ["annuaire", "dmp", "igc", "insi", "mssante", "pam", "psc"]
    tagged = {e["task"] for entries in outcome.evidence["run"]["journals"].values() for e in entries}
    assert tagged <= {t["task"]["id"] for t in outcome.evidence["run"]["tasks"]} | {None}


@pytest.mark.slow
def test_the_harness_s_own_part_of_a_task_is_timed_apart_from_the_product_s(clean_proof):
    records = clean_proof("RIS").evidence["run"]["tasks"]
    delivering = [r for r in records if r["task"]["action"] == "read-inbox"]  # prepare mails the product
    core = [r for r in records if r["scenario"] in ("dmp", "mss", "citizen")]
    assert delivering and core
    assert all(r["prepare_s"] > 0 and r["prepared"] for r in delivering)
    assert all(r["prepare_s"] < 0.05 and not r["prepared"] for r in core)
    assert all(r["elapsed_s"] >= 0 for r in records)
