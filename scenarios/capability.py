"""A capability of the proof: the tasks, observations and checks one wire capability adds to the core
10/10/1 proof (Pro Santé Connect, IHE PAM feeds, DMP consultation, reading mail, …).

The core proof (`plan.py`, `observe.py`, `checks.py`) knows nothing of them: each capability is one
module of `scenarios/capabilities/`, listed once in its `CAPABILITIES`, declaring
- `plan(ctx)`: the tasks it adds, appended after the core tasks (so the core's report numbers and
  nodeids never move), through `ctx.add` — the same `add` the core plan uses;
- `prepare(ctx)`: what the harness itself does before handing one of its tasks to the product (deliver a
  message to the product's mailbox, send it an HL7 feed, end a PSC session…); what it returns is recorded
  in the run record (`task["prepared"]`) and given to `observe`;
- `observe(ctx)`: the facts of one task its checks judge, read from the mocks' journals (never from the
  product's word), stored under `task["observed"][name]`;
- `checks`: its `Check`s, judged like the core's and listed after them in each couloir's suite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from segur.scenarios.check import Check


@dataclass
class PlanContext:
    """What a capability's `plan` sees: the world, the couloir, the author and sender the core chose, the
    plan so far, and `add(task_id, action, patient, scenario, expect, *, recipient=None, extra=None,
    fault=None, number=None, vitale=None, traits=None)` which appends a task and returns it."""

    world: Any
    couloir: str
    size: str
    author: Any
    organisation: Any
    author_info: dict
    sender: str
    plan: Any
    add: Callable[..., Any]
    dmp_patients: list = field(default_factory=list)
    citizen_patients: list = field(default_factory=list)
    recipients: list = field(default_factory=list)

    def used_patients(self) -> set[str]:
        """The keys of the patients the plan's tasks are already about."""
        return {planned.patient_key for planned in self.plan.tasks}


@dataclass
class PrepareContext:
    """What a capability's `prepare` sees for one of its tasks: the planned task (`PlannedTask`), the admin
    API of the mocks (`observe.Admin`), the stack's endpoints, the world, and `product`: the product's own
    endpoints the harness calls (`{"pam": "mllp://host:port"}`, given to `segur proof --pam-endpoint` or
    announced by its driver; docs/sut.md)."""

    planned: Any
    admin: Any
    endpoints: Mapping
    world: Any
    product: Mapping = field(default_factory=dict)


@dataclass
class ObserveContext:
    """What a capability's `observe` sees for one task: the task (`Task.to_dict()`), `in_task(exchange,
    service)` telling whether a journalled exchange is the task's, every mock's journal since the run
    started (`journals[service]`), the admin API (None when judging a recorded run) and what `prepare`
    recorded."""

    task: dict
    in_task: Callable[[dict, str], bool]
    journals: Mapping[str, list]
    admin: Any
    prepared: dict


@dataclass(frozen=True)
class Capability:
    """One capability of the proof (see the module doc); `couloirs` are those whose plan and suite take
    it."""

    name: str
    doc: str
    scenarios: tuple[str, ...] = ()
    plan: Callable[[PlanContext], None] | None = None
    prepare: Callable[[PrepareContext], dict] | None = None
    observe: Callable[[ObserveContext], dict] | None = None
    checks: tuple[Check, ...] = ()
    couloirs: tuple[str, ...] = ("RIS", "BIO")
    #: the mocks its tasks need beyond the core's: a proof whose stack does not serve one of them (a tenant
    #: of a shared stack is served no PAM) runs the tasks but leaves these checks not run (`segur proof`)
    services: tuple[str, ...] = ()

    def takes(self, couloir: str) -> bool:
        return couloir.upper() in self.couloirs

    def owns(self, scenario: str) -> bool:
        return scenario in self.scenarios
