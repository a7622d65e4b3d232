"""examples/tasks/*.json are the proof's own tasks for the shipped world, and the Task contract reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segur.fixtures.world import load_world
from segur.scenarios.driver import Task
from segur.scenarios.plan import build_plan

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "tasks").glob("*.json"))


def test_there_are_example_tasks_for_each_action():
    actions = {json.loads(path.read_text(encoding="utf-8"))["action"] for path in EXAMPLES}
    assert actions == {"send-dmp", "send-mss", "send-citizen", "replace-dmp"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_an_example_task_is_the_plans_task_of_that_id(path):
    planned = {t.task.id: t.task for t in build_plan(load_world(), "RIS", "full").tasks}
    example = Task.from_json(path.read_text(encoding="utf-8"))
    assert json.loads(example.to_json()) == json.loads(planned[path.stem].to_json())
