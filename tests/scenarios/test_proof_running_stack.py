"""`segur proof --stack FILE`: the proof drives and judges a running `segur up` (its endpoints file), so the
stack's console shows the run; the stack is left running."""

from __future__ import annotations

import json

import pytest
import requests
from typer.testing import CliRunner

from segur.cli import app
from segur.scenarios.proof import run_proof
from segur.scenarios.stack import RunningStack, stack_config
from segur.up import start_stack


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    root = tmp_path_factory.mktemp("running-stack")
    with start_stack(stack_config(None, root)) as stack:
        endpoints_file = stack.write_endpoints(root / ".segur-endpoints.json")
        yield stack, endpoints_file


def test_a_proof_against_a_running_stack_passes_and_its_console_shows_the_tasks(running, tmp_path):
    stack, endpoints_file = running
    outcome = run_proof("reference-ris", "RIS", tmp_path / "evidence", size="small", progress=False,
                        stack=RunningStack.from_file(endpoints_file))
    assert outcome.verdict == "pass", outcome.evidence["verdict"]
    console = stack.endpoints()["console"]["console"]
    for task in ("dmp-01", "mss-01"):  # a page holds the latest rows only: the console's own task filter
        rows = requests.get(console.rstrip("/") + "/api/activity", params={"task": task}, timeout=10).json()
        assert rows["rows"] and {row.get("task") for row in rows["rows"]} == {task}, task
    assert requests.get(stack.endpoints()["dmp"]["admin"] + "health", timeout=5).status_code == 200


def test_a_running_stack_is_refused_when_the_file_is_not_an_endpoints_file_or_nothing_answers(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(ValueError, match="not the endpoints file"):
        RunningStack.from_file(tmp_path / "other.json")
    dead = {name: {"admin": "http://127.0.0.1:9/_admin/"} for name in ("insi", "dmp", "mssante")}
    (tmp_path / "dead.json").write_text(json.dumps(dead), encoding="utf-8")
    with pytest.raises(ValueError, match="does not answer"):
        RunningStack.from_file(tmp_path / "dead.json")


def test_the_cli_refuses_a_pack_or_config_with_a_running_stack(running, tmp_path):
    _stack, endpoints_file = running
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--stack", str(endpoints_file),
                                      "--config", str(tmp_path / "x.toml")])
    assert result.exit_code == 2 and "keeps its own pack and config" in " ".join(result.output.split())
