"""Batches: input expansion, order, and a worker failure that never becomes a traceback or a VALID."""

from __future__ import annotations

import os
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from importlib.machinery import ModuleSpec
from multiprocessing import get_context
from pathlib import Path

from segur.validators import batch


def test_expand_files_directories_globs_and_missing(tmp_path: Path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("d/b.xml", "d/sub/a.XML", "d/sub/c.txt", "top.xml"):
        (tmp_path / name).write_text("<a/>")
    (tmp_path / "empty").mkdir()
    given = ["top.xml", "d", "d/*.xml", "none*.xml", "absent.xml", "empty"]
    items = batch.expand([*(str(tmp_path / name) for name in given), "-"])
    names = [Path(i).name if isinstance(i, str) else i[0] for i in items]
    assert names == ["top.xml", "b.xml", "a.XML", "b.xml", "missing", "missing", "missing", "-"]


def test_empty_directory_is_reported(tmp_path: Path):
    assert batch.expand([str(tmp_path)]) == [("missing", f"{tmp_path}: directory holds no .xml file")]


def test_an_empty_path_is_missing_not_the_current_directory(tmp_path: Path, monkeypatch):
    """`segur validate "$UNSET_VAR"` must not validate every .xml under the working directory."""
    (tmp_path / "stray.xml").write_text("<a/>")
    monkeypatch.chdir(tmp_path)
    assert batch.expand([""]) == [("missing", "'': an empty path names no file")]


def test_sequential_run_keeps_input_order_and_counts(tmp_path: Path):
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>')
    bad.write_bytes(b"<open>")
    seen = []
    reports, summary = batch.run(batch.expand([str(bad), str(good), str(tmp_path / "x.xml")]),
                                 {"pack": False, "layers": ("xml",)}, jobs=1, on_done=seen.append)
    assert [Path(r.document).name for r in reports] == ["bad.xml", "good.xml", "x.xml"]
    assert [r.verdict for r in reports] == ["UNREADABLE", "PARTIAL", "UNREADABLE"]  # no XSD, no Schematron
    assert len(seen) == 3 and summary.unreadable == 2 and summary.partial == 1 and summary.exit_code == 2


def test_a_worker_that_cannot_start_gives_an_error_per_document_not_a_traceback(tmp_path: Path):
    docs = []
    for i in range(2):
        path = tmp_path / f"d{i}.xml"
        path.write_bytes(b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>')
        docs.append(str(path))
    # The pack vanished between the command-line check and the workers' start.
    reports, summary = batch.run(docs, {"pack": str(tmp_path / "vanished")}, jobs=2)
    assert [r.verdict for r in reports] == ["INVALID", "INVALID"]
    first_errors = [r.errors[0] for r in reports]
    assert all(e.rule == "VAL-001" and "worker process failed" in e.message for e in first_errors)
    assert summary.exit_code == 1


# -- spawned workers and the parent's main script ------------------------------------------------------
def _fake_main(tmp_path: Path, monkeypatch) -> tuple[types.ModuleType, Path]:
    """A ``__main__`` like the ``segur`` console script's (a file, no module spec) whose running leaves a
    file behind."""
    marker = tmp_path / "main-ran"
    script = tmp_path / "fake_console_script.py"
    script.write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    main = types.ModuleType("__main__")
    main.__file__, main.__spec__ = str(script), None
    monkeypatch.setitem(sys.modules, "__main__", main)
    return main, marker


def _documents(tmp_path: Path) -> list[str]:
    paths = []
    for number in (1, 2):
        path = tmp_path / f"doc{number}.xml"
        path.write_bytes(b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>')
        paths.append(str(path))
    return paths


def test_a_spawn_worker_runs_a_main_script_without_spec_again_unless_told_not_to(tmp_path, monkeypatch):
    main, marker = _fake_main(tmp_path, monkeypatch)
    spawn = get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        pool.submit(os.getpid).result()
    assert marker.exists()  # what the batch avoids: the detection below is not vacuous
    marker.unlink()
    with batch._main_not_run_again(), ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        pool.submit(os.getpid).result()
    assert not marker.exists() and main.__spec__ is None


def test_the_batch_workers_do_not_run_the_main_script_again_and_validate_every_document(tmp_path,
                                                                                     monkeypatch):
    main, marker = _fake_main(tmp_path, monkeypatch)
    reports, _summary = batch.run(_documents(tmp_path), {"pack": False}, jobs=2)
    assert not marker.exists() and main.__spec__ is None
    assert len(reports) == 2 and all(not report.unreadable for report in reports)


def test_a_main_module_with_a_spec_is_left_as_it_is(monkeypatch):
    main = types.ModuleType("__main__")
    main.__spec__ = ModuleSpec("segur.__main__", None)
    monkeypatch.setitem(sys.modules, "__main__", main)
    spec = main.__spec__
    with batch._main_not_run_again():
        assert main.__spec__ is spec
    assert main.__spec__ is spec
