"""Selecting tests by REM id: `pytest scenarios -m "rem(id='…')"` and `-k "<REM id>"` (the plugin turns each
id of `rem("A", "B")` into `rem(id="A")`, `rem(id="B")` and a keyword), without changing what reports say."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segur.scenarios import suites

pytest_plugins = ["pytester"]

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SUITES = [str(SCENARIOS / "test_ris_proof.py"), str(SCENARIOS / "test_bio_proof.py")]
#: every check item of both couloir suites (the core's 26 each, then the capabilities' of each couloir)
ITEMS = len(suites.SUITES["RIS"]) + len(suites.SUITES["BIO"])


@pytest.fixture(autouse=True)
def _no_sut_from_env(monkeypatch):
    for name in ("SEGUR_SUT", "SEGUR_COULOIR", "SEGUR_PROOF_SIZE"):
        monkeypatch.delenv(name, raising=False)


def _collect(pytester, *selection):
    return pytester.runpytest(*SUITES, "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir",
                              str(SCENARIOS), "--collect-only", "-q", *selection)


@pytest.mark.parametrize("selection, selected", [
    (("-m", "rem(id='RIS.DMP/va1.09')"),
     "test_ris_proof.py::test_a_replaced_report_deprecates_the_earlier_version"),
    (("-k", "SGL.DMP/va1.23"), "test_bio_proof.py::test_a_replaced_report_deprecates_the_earlier_version"),
])
def test_one_rem_id_selects_the_test_that_proves_it(pytester, selection, selected):
    result = _collect(pytester, *selection)
    result.stdout.fnmatch_lines([f"*{selected}", f"*1/{ITEMS} tests collected ({ITEMS - 1} deselected)*"])
    assert result.ret == pytest.ExitCode.OK


def test_m_combines_rem_ids_with_and_or_not(pytester):
    result = _collect(pytester, "-m", "rem(id='MSS/CONF.14') and not rem(id='INS/va1.35')")
    # mss-headers, RIS and BIO
    result.stdout.fnmatch_lines([f"*2/{ITEMS} tests collected ({ITEMS - 2} deselected)*"])
    assert "qualified_ins_only" not in result.stdout.str()


def test_an_id_no_test_proves_selects_nothing(pytester):
    result = _collect(pytester, "-m", "rem(id='RIS.DMP/va1.99')")
    result.stdout.fnmatch_lines([f"*no tests collected ({ITEMS} deselected)*"])
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_the_report_still_lists_each_rem_id_once(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.rem("RIS.DMP/va1.13", "SC.DMP/va1.01")
        def test_sends():
            assert True
        """
    )
    result = pytester.runpytest("-m", "rem(id='SC.DMP/va1.01')", "--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    junit = (pytester.path / "out.xml").read_text()
    assert junit.count('name="rem"') == 2
    assert 'value="RIS.DMP/va1.13"' in junit and 'value="SC.DMP/va1.01"' in junit
