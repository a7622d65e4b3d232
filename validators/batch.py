"""Validating many documents: expanding files, directories and globs; spreading over processes.

Each worker process builds one `Validator` when it starts and keeps it, so it loads the XSD and
compiles each Schematron pack once (in-memory caches are per process). Workers are started with
``spawn``: the Schematron engine (saxonche) is native code that is not fork-safe once loaded.
Reports come back in the order of the inputs, whatever order the workers finish in.
"""

from __future__ import annotations

import glob
import os
import sys
import time
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
        stdin: bytes | None = None) -> tuple[list[Report], BatchSummary]:
    """Validate `items` (from `expand`) with a `Validator(**options)`; `jobs` > 1 uses processes."""
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
    if jobs <= 1 or len(todo) <= 1:
        validator = Validator(**options)
        for index, item in todo:
            if item == "-":
                reports[index] = validator.validate(stdin if stdin is not None else b"", name="<stdin>")
            else:
                reports[index] = validator.validate(item)
            if on_done:
                on_done(reports[index])
    else:
        with _main_not_run_again(), ProcessPoolExecutor(
                max_workers=min(jobs, len(todo)), mp_context=get_context("spawn"), initializer=_init_worker,
                initargs=(options,)) as pool:
            futures = {}
            for index, item in todo:
                if item == "-":
                    futures[pool.submit(_validate_bytes_in_worker, stdin or b"")] = index
                else:
                    futures[pool.submit(_validate_in_worker, item)] = index
            for future in as_completed(futures):
                index = futures[future]
                try:
                    reports[index] = future.result()
                except Exception as exc:  # a worker died or could not start: say so for this document
                    reports[index] = _crashed_report(items[index], exc, lang)
                if on_done:
                    on_done(reports[index])
    done = [r for r in reports if r is not None]
    return done, BatchSummary.of(done, time.perf_counter() - started)


def _validate_bytes_in_worker(data: bytes) -> Report:
    return _WORKER.validate(data, name="<stdin>")


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def stdin_bytes(max_size: int) -> bytes:
    return sys.stdin.buffer.read(max_size + 1)
