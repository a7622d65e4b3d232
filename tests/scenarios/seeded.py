"""Several seeded defects of a reference product proved in ONE proof run (the test modules of `scenarios/`).

Each defect is seeded on a task of its own: the task is handed to a driver of the reference product carrying
that defect, every other task to the clean product, all with one memory (`state_dir`): the same product
throughout, wrong only where a defect was seeded. Such a run proves each defect as its own run would when the
defect's effect is confined to its task: its check fails naming that task, and the failing checks are exactly
the union of the defects' checks. A defect whose effect reaches other tasks (a product-wide setting, a state
later tasks read) keeps a run of its own. The HL7v2 messages the harness sends (PAM feeds, the PFI's returns)
go to the product's MLLP listener, not to a task's driver: a defect of the listener is seeded with `listener`.
"""

from __future__ import annotations

import pytest

from segur.scenarios import proof as proof_module
from segur.scenarios.driver import reference_product_driver, reference_ris_driver
from segur.scenarios.proof import ProofOutcome, run_proof


class PerTaskDefects:
    """The reference product `product` (`reference-ris` or one of driver.REFERENCE_PRODUCTS) with a seeded
    defect on some tasks only, one memory for every task. `defects`: task id → its defect, or → a tuple whose
    first item is the defect (the caller keeps beside it what the defect must fail). `listener`: the defect
    of the product's MLLP listener (docs/sut.md), the one the harness's HL7v2 messages reach (None: clean)."""

    def __init__(self, defects: dict, state_dir, *, product: str = "reference-ris",
                 listener: str | None = None):
        self.defects = {task_id: defect if isinstance(defect, str) else defect[0]
                        for task_id, defect in defects.items()}
        self.drivers = {defect: _driver(product, defect, state_dir)
                        for defect in {None, listener, *self.defects.values()}}
        self.product_endpoints = self.drivers[listener].product_endpoints  # its PAM listener (docs/sut.md)
        self.product_claims = self.drivers[None].product_claims  # the optional requirements it claims

    def run(self, task, endpoints):
        return self.drivers[self.defects.get(task.id)].run(task, endpoints)


def _driver(product: str, defect: str | None, state_dir):
    if product == "reference-ris":
        return reference_ris_driver(defect, state_dir=state_dir)
    return reference_product_driver(product, defect, state_dir=state_dir)


def seeded_proof(product: str, couloir: str, out, defects: dict, *, stack, listener: str | None = None,
                 capabilities=None, claims=None) -> ProofOutcome:
    """The small proof (`run_proof`: suites, evidence pack) of `product` with `defects` (task id → defect)
    seeded in their tasks only (PerTaskDefects), on the running `stack`; `claims`: the optional requirements
    the product claims (None: the reference product's own, both)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proof_module, "driver_for", lambda _sut, _stack, state_dir: PerTaskDefects(
            defects, state_dir, product=product, listener=listener))
        return run_proof(product, couloir, out, size="small", progress=False, stack=stack,
                         capabilities=capabilities, claims=claims)


def named_tasks(problems) -> set[str]:
    """The task ids a check's problems begin with ("task-01: …")."""
    return {problem.split(":")[0] for problem in problems}
