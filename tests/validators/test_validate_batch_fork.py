"""Batches whose workers are forked from the warmed-up parent: the same reports as one process, the packs
not compiled again in the workers, and the fork made only when no other thread is at work."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from segur.validators import batch
from segur.validators.packs import PackDir
from segur.validators.schematron import runtime

#: official examples of several volets, N1 and N3: the workers meet packs the parent's warm-up did not load
EXAMPLES = (
    "IMG_CR_IMG_2024.01.xml",
    "BIO-CR-BIO_2024.01_TSH_1.xml",
    "DOC_NON_STRUCTURE_CDA-R2-N1.xml",
    "BIO-CR-BIO_2021.01_Auto-Presentable.xml",
    "ANEST-CR-ANEST_2022.01.xml",
    "AVC-AUNV_2022.01.xml",
    "BIO-TROD_2024.01_Angine.xml",
)


def _untimed(value):
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "timings" and not k.endswith("_ms")}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _comparable(report) -> dict:
    """The report as JSON, without the times it took."""
    return _untimed(report.to_dict())


@pytest.fixture(scope="module")
def examples(cda_pack: Path) -> list[str]:
    return [str(cda_pack / "ExemplesCDA" / name) for name in EXAMPLES]


@pytest.fixture(scope="module")
def options(cda_pack: Path) -> dict:
    return {"pack": PackDir.open(cda_pack), "profile": "auto", "lang": "en"}


@pytest.fixture(scope="module")
def one_process(examples, options) -> list[dict]:
    reports, _summary = batch.run(examples, options, jobs=1)
    return [_comparable(r) for r in reports]


def test_forked_workers_give_the_reports_of_one_process_on_the_official_examples(examples, options,
                                                                                 one_process):
    reports, summary = batch.run(examples, options, jobs=2, start="fork")
    assert [_comparable(r) for r in reports] == one_process
    assert summary.documents == len(EXAMPLES) and summary.invalid > 0  # the comparison judges findings


def test_spawned_workers_give_the_same_reports(examples, options, one_process):
    reports, _summary = batch.run(examples[:3], options, jobs=2, start="spawn")
    assert [_comparable(r) for r in reports] == one_process[:3]


def _compiles_and_runs() -> tuple[int, int, int]:
    return os.getpid(), runtime.stats["saxon_compiles"], runtime.stats["runs"]


def test_a_forked_worker_validates_with_the_packs_its_parent_compiled(examples, options):
    parent = batch._parent_validator(options)
    parent.validate(examples[0])  # the warm-up: the CR-IMG N3 loads the common and the IMG packs
    compiled, runs = runtime.stats["saxon_compiles"], runtime.stats["runs"]
    with batch._forked_pool(1, parent) as pool:
        report = pool.submit(batch._validate_in_worker, examples[0]).result()
        pid, compiled_there, runs_there = pool.submit(_compiles_and_runs).result()
    assert pid != os.getpid()
    assert compiled_there == compiled  # nothing compiled again
    assert runs_there == runs + 2  # both packs ran in the worker, on the parent's executables
    assert _comparable(report) == _comparable(parent.validate(examples[0]))


def test_the_parent_warms_up_on_the_first_document_then_forks(examples, options, monkeypatch):
    pools = []
    monkeypatch.setattr(batch, "_forked_pool", lambda *a: pools.append("fork") or _pool("fork", *a))
    monkeypatch.setattr(batch, "_spawned_pool", lambda *a: pools.append("spawn") or _pool("spawn", *a))
    runs = runtime.stats["runs"]
    seen = []
    batch.run(examples[:3], options, jobs=2, on_done=lambda r: seen.append(Path(r.document).name),
              start="fork")
    assert pools == ["fork"]
    assert seen[:2] == list(EXAMPLES[:batch.WARM_UP])  # validated in this process, before any worker
    assert runtime.stats["runs"] == runs + 4  # here: the common and the volet pack of each of them only


_REAL_POOLS = {"fork": batch._forked_pool, "spawn": batch._spawned_pool}


def _pool(kind: str, *args):
    return _REAL_POOLS[kind](*args)


def test_with_another_python_thread_the_workers_are_spawned(examples, options, monkeypatch):
    pools = []
    monkeypatch.setattr(batch, "_forked_pool", lambda *a: pools.append("fork") or _pool("fork", *a))
    monkeypatch.setattr(batch, "_spawned_pool", lambda *a: pools.append("spawn") or _pool("spawn", *a))
    stop = threading.Event()
    waiting = threading.Thread(target=stop.wait, daemon=True)
    waiting.start()
    try:
        assert not batch._may_fork()
        reports, _summary = batch.run(examples[:2], options, jobs=2)
    finally:
        stop.set()
        waiting.join()
    assert pools == ["spawn"] and len(reports) == 2 and not any(r.unreadable for r in reports)


def _hash_until(stop: threading.Event) -> None:
    block = b"\0" * (8 << 20)
    while not stop.is_set():
        hashlib.sha256(block).digest()  # hashes without the GIL: this thread runs while the test checks


def test_the_fork_waits_for_the_other_threads_to_sleep():
    stop = threading.Event()
    busy = threading.Thread(target=_hash_until, args=(stop,), daemon=True)
    busy.start()
    try:
        assert batch._other_threads_asleep(wait=0.05) is False
    finally:
        stop.set()
        busy.join()
    sleeping = threading.Event()
    idle = threading.Thread(target=sleeping.wait, daemon=True)
    idle.start()
    try:
        assert batch._other_threads_asleep(wait=0.5) is True
    finally:
        sleeping.set()
        idle.join()


def test_a_busy_thread_at_the_fork_sends_the_rest_to_spawned_workers(examples, options, monkeypatch):
    pools = []
    monkeypatch.setattr(batch, "_may_fork", lambda: True)
    monkeypatch.setattr(batch, "_other_threads_asleep", lambda: False)
    monkeypatch.setattr(batch, "_spawned_pool", lambda *a: pools.append("spawn") or _pool("spawn", *a))
    reports, _summary = batch.run(examples[:3], options, jobs=2)
    assert pools == ["spawn"] and len(reports) == 3 and not any(r.unreadable for r in reports)


def _die_on_the_third(item: str):
    if item.endswith(EXAMPLES[2]):
        os._exit(3)
    return batch._WORKER.validate(item)


def test_a_forked_worker_that_dies_gives_an_error_for_its_documents_not_a_hang(examples, options,
                                                                              monkeypatch):
    monkeypatch.setattr(batch, "_validate_in_worker", _die_on_the_third)
    reports, summary = batch.run(examples[:4], options, jobs=2, start="fork")
    assert [Path(r.document).name for r in reports] == list(EXAMPLES[:4])
    assert not [f for r in reports[:2] for f in r.findings if f.rule == "VAL-001"]  # the parent's warm-up
    died = [r for r in reports[2:] if r.errors and r.errors[0].rule == "VAL-001"]
    assert died and all("worker process failed" in r.errors[0].message for r in died)
    assert summary.exit_code == 1


def test_the_thread_state_is_read_from_proc():
    assert batch._thread_state(str(threading.get_native_id())) == "R"  # this thread, reading its own state
    assert batch._thread_state("999999999") is None
