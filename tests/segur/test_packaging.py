"""A non-editable install (`pip install git+…`, what a CI job does) carries every data file the code reads.

An editable install reads the working tree, so the rest of the suite cannot see a data file missing
from the wheel (the INSi WSDL once was: `segur` did not even start). This test builds the wheel and
compares it with the files git tracks under the package folders.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version

import pytest
import typer
from package_map import REPO, package_roots
from typer.testing import CliRunner

from segur.cli import app

# folder in the checkout -> folder in the wheel, e.g. "mocks" -> "segur/mocks" (setup.py's map)
ROOTS = {folder.relative_to(REPO).as_posix(): package.replace(".", "/")
         for package, folder in package_roots().items()}


def _tracked(*paths: str) -> list[str]:
    if not (REPO / ".git").exists() or not shutil.which("git"):
        pytest.skip("needs a git checkout to know which files are tracked")
    out = subprocess.run(["git", "ls-files", *paths], cwd=REPO, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line and (REPO / line).is_file()]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A wheel built from a clean copy of the tracked files, and the build's verbose output."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "src"  # a clean copy: a build/ folder left in the checkout would hide a missing file
    for path in _tracked():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / path, source / path)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path / "dist")]
    build = subprocess.run([*pip_wheel, str(source)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here (offline without setuptools>=77?): {build.stderr[-300:]}")
    return next((tmp_path / "dist").glob("*.whl")), build.stdout + build.stderr


def test_the_wheel_holds_every_tracked_file_of_the_packages(built):
    tracked = _tracked(*ROOTS)
    names = set(zipfile.ZipFile(built[0]).namelist())
    expected = {ROOTS[path.split("/", 1)[0]] + "/" + path.split("/", 1)[1] for path in tracked}
    missing = sorted(p for p in expected if p not in names and not p.endswith((".gitignore", ".gitkeep")))
    assert missing == [], f"files git tracks but the wheel lacks: {missing}"


def test_the_build_prints_no_setuptools_warning_about_the_data_folders(built):
    """`pip install` once printed ~130 lines of "Package 'segur.mocks.insi.wsdl' is absent from the
    `packages` configuration": every data folder must be a package setuptools was told about."""
    absent = [line.strip() for line in built[1].splitlines() if "absent from the `packages`" in line]
    assert absent == []


def test_segur_version_prints_the_installed_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"segur {version('segur-harness')}"


def _commands(command, path=()):
    """Every (sub)command of the click tree with its path, `segur` itself included."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_no_flag_is_shown_as_taking_a_bool_in_any_help():
    shown = {}
    for path, _ in _commands(typer.main.get_command(app)):
        output = CliRunner().invoke(app, [*path, "--help"], terminal_width=200).output
        shown.update({" ".join(path): line.strip() for line in output.splitlines() if "<bool>" in line})
    assert shown == {}
