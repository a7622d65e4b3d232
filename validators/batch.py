"""Validating many documents: expanding files, directories and globs; spreading over processes.

Two ways to start the workers (`run`, ``jobs`` > 1):

- **fork after the warm-up** (Linux, no other Python thread): the parent builds the `Validator` and
  validates the first `WARM_UP` documents itself, which loads the XSD, the value sets and the Schematron
  packs into Saxon; then it forks the workers, which inherit all of it and validate the other documents. A
  worker then costs a fork instead of an interpreter, the imports, the packs' compilation by Saxon and
  its first documents (~0.7 s of CPU each for the CR-IMG packs: docs/validator.md, "Batches"). SaxonC
  is native code whose only other thread, its reference handler, must not be forked in the middle of its
  work: the fork waits until every other thread of the process sleeps (`_other_threads_asleep`), and
  the child keeps its parent's Saxon processor (`runtime.keep_processor_after_fork`);
- **spawn** otherwise (another thread is running, or the parent could not build its `Validator`): each
  worker imports the validator and builds its own `Validator` when it starts, so it loads the XSD and
  compiles each pack once (in-memory caches are per process).

Reports come back in the order of the inputs, whatever order the workers finish in.
"""

from __future__ import annotations

import glob
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from multiprocessing import get_context
from pathlib import Path

from segur.validators.api import Validator, _engine_finding
from segur.validators.report import BatchSummary, Report
from segur.validators.safe_xml import xml_finding

_GLOB_CHARS = set("*?[")


def expand(inputs: Iterable[str]) -> list[str | tuple[str, str]]:
    """Paths to validate, in a stable order: files as given, directories recursively (``*.xml``,
    sorted), globs (sorted). An input that names nothing becomes ``("missing", input)``."""
    out: list[str | tuple[str, str]] = []
    for item in inputs:
        if item == "-":
            out.append("-")
            continue
        if not item.strip():  # Path("") is ".": an empty shell variable must not validate the whole folder
            out.append(("missing", "'': an empty path names no file"))
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(str(p) for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".xml")
            if not files:
                out.append(("missing", f"{item}: directory holds no .xml file"))
            out.extend(files)
        elif path.exists():
            out.append(item)
        elif _GLOB_CHARS & set(item):
            files = sorted(p for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not files:
                out.append(("missing", f"{item}: no file matches"))
            out.extend(files)
        else:
            out.append(("missing", f"{item}: no such file or directory"))
    return out


def _missing_report(detail: str, lang: str) -> Report:
    name = detail.split(":", 1)[0]
    return Report(document=name, findings=[xml_finding("XML-007", lang, detail=detail)], unreadable=True)


def _crashed_report(item: str, exc: BaseException, lang: str) -> Report:
    detail = f"worker process failed: {type(exc).__name__}: {exc}"
    return Report(document="<stdin>" if item == "-" else item,
                  findings=[_engine_finding("VAL-001", lang, layer="batch", detail=detail)])


# -- worker side ---------------------------------------------------------------------------------
_WORKER: Validator | None = None


def _init_worker(options: dict) -> None:
    global _WORKER
    _WORKER = Validator(**options)


def _adopt_parent_validator(validator: Validator) -> None:
    """A forked worker validates with the `Validator` its parent built and warmed up."""
    # start-up: the Schematron engine loads Saxon, 30-90 ms of every `segur --help` (packs.py, measured)
    from segur.validators.schematron import runtime

    global _WORKER
    runtime.keep_processor_after_fork()
    _WORKER = validator


def _validate_in_worker(item: str) -> Report:
    return _WORKER.validate(item)


# -- driver --------------------------------------------------------------------------------------

@contextmanager
def _main_not_run_again():
    """Spawned workers that do not run the parent's main script again.

    A ``spawn`` worker first re-runs the parent's ``__main__`` by its path when it has no module spec,
    which is the case of the ``segur`` console script: each worker then imported ``segur.cli`` and with
    it every mock (~1.4 s of CPU on an idle machine, three times for ``--jobs 2``: the largest part of a
    100-document run's fixed cost, docs/validator.md). The workers need nothing from it (their functions
    are this module's). A main module named ``….__main__`` is not run again by multiprocessing, as with
    ``python -m segur``: the console script's main gets that name while the workers start."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield  # run with -m (already named), or embedded: nothing to do
        return
    main.__spec__ = ModuleSpec("segur.__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None


def run(items: list, options: dict, jobs: int = 1, on_done: Callable[[Report], None] | None = None,
        stdin: bytes | None = None, start: str | None = None) -> tuple[list[Report], BatchSummary]:
    """Validate `items` (from `expand`) with a `Validator(**options)`; `jobs` > 1 uses processes.

    `start`: how workers start, ``"fork"`` (after the parent's warm-up) or ``"spawn"``; None chooses
    fork when it is safe (module docstring)."""
    started = time.perf_counter()
    lang = options.get("lang", "en")
    reports: list[Report | None] = [None] * len(items)
    todo: list[tuple[int, str]] = []
    for index, item in enumerate(items):
        if isinstance(item, tuple):
            reports[index] = _missing_report(item[1], lang)
            if on_done:
                on_done(reports[index])
        else:
            todo.append((index, item))

    def finish(index: int, report: Report) -> None:
        reports[index] = report
        if on_done:
            on_done(report)

    if jobs <= 1 or len(todo) <= 1:
        validator = Validator(**options)
        for index, item in todo:
            finish(index, _validate_item(validator, item, stdin))
    else:
        parent = _parent_validator(options) if start != "spawn" and (start == "fork" or _may_fork()) else None
        if parent is not None:
            warm_up, todo = todo[:WARM_UP], todo[WARM_UP:]
            for index, item in warm_up:  # they load the XSD and every pack they need into the parent
                try:
                    finish(index, _validate_item(parent, item, stdin))
                except Exception as exc:  # a defect of the validator: said for this document, as a worker's
                    finish(index, _crashed_report(items[index], exc, lang))
        if todo and parent is not None and (start == "fork" or _other_threads_asleep()):
            pool = _forked_pool(min(jobs, len(todo)), parent)
        else:
            pool = _spawned_pool(min(jobs, len(todo)), options) if todo else None
        if pool is not None:
            _run_in(pool, todo, stdin, finish,
                    lambda index, exc: finish(index, _crashed_report(items[index], exc, lang)))
    done = [r for r in reports if r is not None]
    return done, BatchSummary.of(done, time.perf_counter() - started)


def _validate_item(validator: Validator, item: str, stdin: bytes | None) -> Report:
    if item == "-":
        return validator.validate(stdin if stdin is not None else b"", name="<stdin>")
    return validator.validate(item)


def _may_fork() -> bool:
    """Fork is the default where it is safe: Linux, and no other Python thread (a thread holding a lock
    at the fork, e.g. a progress bar's writing to the terminal, would leave it held in the workers)."""
    return sys.platform == "linux" and threading.active_count() == 1


def _parent_validator(options: dict) -> Validator | None:
    """The parent's own `Validator` for the warm-up; None when it cannot be built (a pack gone since the
    command line was checked): the spawned workers then report it for each document, as before."""
    try:
        return Validator(**options)
    except Exception:
        return None


#: Documents the parent validates before it forks: the first loads the XSD and the packs; Saxon's first
#: runs of a pack cost more (~100 ms of CPU on the second CR-IMG N3, ~20 ms from the third on), and a
#: worker forked after one document paid that again, each (measured, docs/validator.md "Batches").
WARM_UP = 2

#: How long the parent waits for its other threads (SaxonC's reference handler) to go back to sleep.
QUIET_WAIT = 0.5


def _other_threads_asleep(wait: float = QUIET_WAIT) -> bool:
    """True once every other thread of this process sleeps (state S in /proc), so that none is forked
    holding a lock in the middle of its work; False when they do not within `wait` seconds."""
    deadline = time.monotonic() + wait
    me = str(threading.get_native_id())
    while True:
        try:
            states = [_thread_state(tid) for tid in os.listdir("/proc/self/task") if tid != me]
        except OSError:
            return False
        if all(state == "S" for state in states if state is not None):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)


def _thread_state(tid: str) -> str | None:
    """A thread's state letter from /proc (None when it ended meanwhile); its name may hold spaces."""
    try:
        with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]


def _forked_pool(workers: int, parent: Validator) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"),
                               initializer=_adopt_parent_validator, initargs=(parent,))


def _spawned_pool(workers: int, options: dict) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=_init_worker, initargs=(options,))


def _run_in(pool: ProcessPoolExecutor, todo: list[tuple[int, str]], stdin: bytes | None,
            done: Callable[[int, Report], None], crashed: Callable[[int, BaseException], None]) -> None:
    with _main_not_run_again(), warnings.catch_warnings(), pool:
        # Python 3.12+ warns at any fork of a process with several threads: SaxonC's sleeping reference
        # handler is one, and it is why the fork waited until it slept (module docstring)
        warnings.filterwarnings("ignore", message=r"This process .* is multi-threaded",
                                category=DeprecationWarning)
        futures = {}
        for index, item in todo:
            if item == "-":
                futures[pool.submit(_validate_bytes_in_worker, stdin or b"")] = index
            else:
                futures[pool.submit(_validate_in_worker, item)] = index
        for future in as_completed(futures):
            index = futures[future]
            try:
                report = future.result()
            except Exception as exc:  # a worker died or could not start: say so for this document
                crashed(index, exc)
            else:
                done(index, report)


def _validate_bytes_in_worker(data: bytes) -> Report:
    return _WORKER.validate(data, name="<stdin>")


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def stdin_bytes(max_size: int) -> bytes:
    return sys.stdin.buffer.read(max_size + 1)
