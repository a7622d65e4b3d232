"""Fixtures and imports shared by the tests of `scenarios/`."""

from __future__ import annotations

# Imported once for the session, before any pytester run: pytester's in-process runs drop every module first
# imported during the inner session. Imported again after that, requests and zeep mix two copies of
# http.cookiejar ("You can only merge into CookieJar") in the reference RIS the later proofs drive, a mock's
# rules registered again clash with the kernel's catalogue ("declared twice with different content"), and the
# proof's own modules would be imported anew by whichever test comes next, with its monkeypatches in force.
import copy
import csv
import fcntl
import http.cookiejar  # noqa: F401
import json
import os
import sys
from pathlib import Path

import pytest
import requests  # noqa: F401
import zeep  # noqa: F401

import segur.scenarios.proof  # noqa: F401
from segur.kernel.official_pack import find_pack
from segur.scenarios.driver import reference_ris_dir
from segur.scenarios.proof import ProofOutcome, run_proof, stack_config
from segur.scenarios.rem import read_catalogue, shared_rem_path
from segur.up import start_stack

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(reference_ris_dir()))  # the example is not installed: importable from its folder
import reference_ris.plugin  # noqa: E402,F401


@pytest.fixture(scope="module")
def catalogue():
    """The project's REM catalogue (scenarios/data/requirements.csv)."""
    return read_catalogue()


@pytest.fixture(scope="module")
def shared_rem():
    """The ANS REM working data (`../shared/rem/requirements.csv`, or `SEGUR_REM`), as rows."""
    path = shared_rem_path()
    if not path.is_file():
        pytest.skip(f"the ANS REM working data is not at {path} (set SEGUR_REM)")
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class CleanProofs:
    """The small proof of each couloir's reference product, clean, run once per test session on a stack of
    its own that validates with the official CDA pack when there is one (../shared/ref/cda or SEGUR_PACK): the
    capability and couloir modules all judge that same run (each runs its seeded defects on its own stack).
    Under pytest-xdist the first worker that needs a couloir's proof runs it, holding a lock in the session's
    shared folder, and the others read its pack (evidence.json) from there; each caller gets its own copy of
    the evidence (as the pack wrote it: JSON). The pack's files are shared: read them, do not write."""

    PRODUCTS = {"RIS": "reference-ris", "BIO": "reference-ris", "LGC": "reference-lgc",
                "DPI": "reference-dpi", "PFI": "reference-pfi"}

    def __init__(self, tmp_path_factory):
        self._tmp = tmp_path_factory
        self._stack = None
        self._plain_stack = None
        self._runs: dict[str, ProofOutcome] = {}
        run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # one id for the workers of one session
        base = tmp_path_factory.getbasetemp()
        self._shared = base.parent / f"clean-proofs-{run_id}" if run_id else base / "clean-proofs"
        self._shared.mkdir(parents=True, exist_ok=True)

    def __call__(self, couloir: str) -> ProofOutcome:
        return self._copy(couloir.lower(), lambda out: run_proof(
            self.PRODUCTS[couloir], couloir, out, size="small", progress=False, stack=self._pack_stack()))

    def seeded(self, sut: str, couloir: str = "RIS") -> ProofOutcome:
        """The small proof of a seeded product (`reference-ris:pdf-not-base64`), with every capability, on a
        stack without the official pack (as a module's own `start_stack(stack_config(None, …))`), run once
        per session for the modules that judge the same run; shared as the clean proofs are."""
        return self._copy(f"{sut.replace(':', '-')}-{couloir.lower()}", lambda out: run_proof(
            sut, couloir, out, size="small", progress=False, stack=self._stack_without_pack()))

    def _copy(self, name: str, run) -> ProofOutcome:
        if name not in self._runs:
            self._runs[name] = self._shared_run(name, run)
        ran = self._runs[name]
        return ProofOutcome(ran.exit_code, ran.verdict, ran.out, copy.deepcopy(ran.evidence))

    def _pack_stack(self):
        if self._stack is None:
            pack = find_pack(cwd=REPO)
            workdir = self._tmp.mktemp("clean-stack")
            self._stack = start_stack(stack_config(None, workdir, pack=pack.path if pack else None))
        return self._stack

    def _stack_without_pack(self):
        if self._plain_stack is None:
            self._plain_stack = start_stack(stack_config(None, self._tmp.mktemp("seeded-stack")))
        return self._plain_stack

    def _shared_run(self, name: str, run) -> ProofOutcome:
        out = self._shared / name
        done = out / "outcome.json"
        with open(self._shared / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not done.is_file():
                ran = run(out)
                done.write_text(json.dumps({"exit_code": ran.exit_code, "verdict": ran.verdict}))
        outcome = json.loads(done.read_text(encoding="utf-8"))
        evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
        return ProofOutcome(outcome["exit_code"], outcome["verdict"], out, evidence)

    def close(self) -> None:
        for stack in (self._stack, self._plain_stack):
            if stack is not None:
                stack.stop()


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory):
    """The mocks of `segur up` for the module's own proof runs (a module needing another config defines its
    own `stack`)."""
    name = request.module.__name__.rpartition(".")[2]
    with start_stack(stack_config(None, tmp_path_factory.mktemp(f"{name}-stack"))) as running:
        yield running


@pytest.fixture(scope="session")
def clean_proof(tmp_path_factory):
    """`clean_proof("RIS")`: the clean small proof of the couloir's reference product (CleanProofs)."""
    proofs = CleanProofs(tmp_path_factory)
    yield proofs
    proofs.close()


@pytest.fixture(scope="session")
def seeded_proof(clean_proof):
    """`seeded_proof("reference-ris:pdf-not-base64")`: the seeded product's small RIS proof, on a stack
    without the official pack, run once per session for every module judging it (`CleanProofs.seeded`)."""
    return clean_proof.seeded
