"""Optional (PEUT) requirements a product claims (capability `optional`, scenarios/capabilities/claims.py):
TLS 1.3 on every MSSanté session (REM MSS/CONF.02) and the PSC token in one IMAP step, SASL-IR (MSS/CONF.09).

Three runs: the clean LGC proof (the session's `clean_proof`: the reference LGC claims both options), one
seeded run on the module's stack (the reference LGC claiming both but capped at TLS 1.2 on `mss-01` and
authenticating in two steps on `optional-01`), and one `segur proof --claims none` from the command line,
where neither option is claimed: not judged, listed "not claimed", never a pass.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from seeded import named_tasks, seeded_proof
from typer.testing import CliRunner

from segur.cli import app
from segur.fixtures.world import load_world
from segur.scenarios.capabilities import claims
from segur.scenarios.checks import CHECKS
from segur.scenarios.evidence_pack import not_claimed_lines, recompute_verdict
from segur.scenarios.plan import build_plan
from segur.scenarios.rem import coverage
from segur.scenarios.suites import SUITES

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
pytest_plugins = ["pytester"]

TLS, SASL = "mss-tls13", "mss-sasl-ir"
DEFECTS = {"mss-01": ("tls13-claimed-tls12-max", TLS), "optional-01": ("sasl-ir-claimed-two-steps", SASL)}


# --- the options and the plan -------------------------------------------------------------------------
@pytest.mark.parametrize("value, parsed", [(None, None), ("", None), ("none", ()), ("NONE", ()),
                                           ("tls13", ("tls13",)),
                                           ("sasl-ir, tls13,tls13", ("sasl-ir", "tls13"))])
def test_claims_are_none_all_given_or_the_drivers(value, parsed):
    assert claims.parse_claims(value) == parsed


def test_an_unknown_claim_is_refused():
    with pytest.raises(ValueError, match="unknown claim.*tls14"):
        claims.parse_claims("tls13,tls14")


def test_the_cli_refuses_an_unknown_claim_before_anything_runs(tmp_path):
    result = CliRunner().invoke(app, ["proof", "--sut", "reference-ris", "--claims", "tls14",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "unknown claim(s) tls14" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("couloir, tls, sasl", [("RIS", True, True), ("BIO", True, False),
                                                ("LGC", True, True), ("PFI", True, False),
                                                ("DPI", False, False)])
def test_each_couloir_carries_the_optional_ids_its_rem_has(couloir, tls, sasl):
    assert (TLS in SUITES[couloir]) is tls and (SASL in SUITES[couloir]) is sasl
    if tls:
        assert CHECKS[TLS].rem[couloir] == ["MSS/CONF.02"]
    if sasl:
        assert CHECKS[SASL].rem[couloir] == ["MSS/CONF.09"]
    reads = [p.task.id for p in build_plan(load_world(), couloir, "small").of(claims.SCENARIO)]
    assert reads == (["optional-01"] if sasl else [])


# --- the runs ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeded(stack, tmp_path_factory):
    out = tmp_path_factory.mktemp("optional-claims-defects")
    defects = {task_id: defect for task_id, (defect, _check) in DEFECTS.items()}
    ran = seeded_proof("reference-lgc", "LGC", out, defects, stack=stack, capabilities=("optional",))
    return ran.evidence


@pytest.fixture(scope="module")
def unclaimed(tmp_path_factory):
    """`segur proof --claims none` of the reference LGC (core and optional tasks): its output and pack."""
    out = tmp_path_factory.mktemp("optional-unclaimed")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(out)  # no ../shared/ref/cda beside: a run without the official pack
        patch.delenv("SEGUR_PACK", raising=False)
        result = CliRunner().invoke(app, ["proof", "--sut", "reference-lgc", "--couloir", "LGC", "--size",
                                          "small", "--capabilities", "optional", "--claims", "none",
                                          "--quiet", "--out", str(out / "pack")])
    evidence = json.loads((out / "pack" / "evidence.json").read_text(encoding="utf-8"))
    html = (out / "pack" / "index.html").read_text(encoding="utf-8")
    return result, evidence, html


@pytest.mark.slow
def test_claimed_options_the_reference_honours_pass_on_every_session(clean_proof):
    evidence = clean_proof("LGC").evidence
    assert evidence["run"]["claims"] == ["tls13", "sasl-ir"]
    tls, sasl = evidence["checks"][TLS], evidence["checks"][SASL]
    assert tls["status"] == "pass" and sasl["status"] == "pass", (tls["problems"], sasl["problems"])
    sessions = tls["evidence"][0]["sessions"]
    assert {s["protocol"] for s in sessions} == {"SMTP", "IMAP"}
    assert all(s["tls"] == "TLSv1.3" for s in sessions)
    [read] = sasl["evidence"]
    assert read["logins"] and all(login["initial_response"] for login in read["logins"])
    assert read["delivered"]["message_id"] in read["fetched"]
    for rem_id in ("MSS/CONF.02", "MSS/CONF.09"):
        assert evidence["requirements"][rem_id]["verdict"] == "pass"


@pytest.mark.slow
@pytest.mark.parametrize("task_id", sorted(DEFECTS))
def test_a_claim_the_product_does_not_honour_fails_naming_the_task(seeded, task_id):
    defect, check_id = DEFECTS[task_id]
    result = seeded["checks"][check_id]
    assert result["status"] == "fail", result
    assert named_tasks(result["problems"]) == {task_id}, (defect, result["problems"])
    assert {c for c, r in seeded["checks"].items() if r["status"] == "fail"} == {TLS, SASL}
    rem_id = CHECKS[check_id].rem["LGC"][0]
    assert seeded["requirements"][rem_id]["verdict"] == "fail"


@pytest.mark.slow
def test_the_tls_defect_shows_the_version_the_mock_journalled(seeded):
    [capped] = [p for p in seeded["checks"][TLS]["problems"] if p.startswith("mss-01:")]
    assert "over TLSv1.2, not TLS 1.3" in capped
    [read] = seeded["checks"][SASL]["evidence"]
    assert [login["initial_response"] for login in read["logins"]] == [False]


@pytest.mark.slow
def test_unclaimed_options_are_listed_not_claimed_and_never_pass(unclaimed):
    result, evidence, html = unclaimed
    assert result.exit_code == 0, result.output
    assert evidence["run"]["claims"] == [] and evidence["verdict"] == "pass"
    for check_id, rem_id in ((TLS, "MSS/CONF.02"), (SASL, "MSS/CONF.09")):
        check = evidence["checks"][check_id]
        assert check["status"] == claims.NOT_CLAIMED and not check["passed"] and not check["problems"]
        requirement = evidence["requirements"][rem_id]
        assert requirement["verdict"] == claims.NOT_CLAIMED and requirement["note"] == claims.NOT_CLAIMED_NOTE
        assert [t["outcome"] for t in requirement["tests"]] == ["skipped"]
        assert f"NOT CLAIMED {rem_id}: {claims.NOT_CLAIMED_NOTE} ({check_id})" in result.output
    assert not_claimed_lines(evidence) == [line.strip() for line in result.output.splitlines()
                                           if line.startswith("  NOT CLAIMED")]
    assert "<b>optional claims</b> none</span>" in html  # the banner says what the product claimed
    for rem_id in ("MSS/CONF.02", "MSS/CONF.09"):  # each requirement's row says so under its verdict
        row = html.split(f"<tr id='rem-{rem_id.replace('/', '-').replace('.', '-')}'>")[1].split("</tr>")[0]
        assert ">not claimed</span><br><small>" + claims.NOT_CLAIMED_NOTE in row, row
    # a reviewer recomputing the pack from evidence.json finds the same: not claimed, and the proof passes
    again = recompute_verdict(evidence)
    assert again["verdict"] == "pass"
    assert again["requirements"] == {rem_id: r["verdict"] for rem_id, r in evidence["requirements"].items()}
    # the task still ran (reading the personal mailbox is MSS/CONF.07's API LPS): only the claim is missing
    [read] = [t for t in evidence["run"]["tasks"] if t["task"]["id"] == "optional-01"]
    assert read["result"]["ok"]


@pytest.mark.slow
def test_a_recorded_run_judged_without_the_claim_says_not_claimed_and_with_it_judges(clean_proof):
    run = copy.deepcopy(clean_proof("LGC").evidence["run"])
    run["claims"] = []
    for check_id in (TLS, SASL):
        result = CHECKS[check_id].judge(run)
        assert result.status == claims.NOT_CLAIMED and not result.passed
    run["claims"] = ["tls13"]
    session = next(e for e in run["journals"]["mssante"] if e["operation"] == "smtp-session"
                   and (e.get("client") or {}).get("login"))
    session["client"]["tls"]["version"] = "TLSv1.2"
    failed = CHECKS[TLS].judge(run)
    assert failed.status == "fail" and f"SMTP session #{session['seq']}" in failed.problems[0]


def test_rem_coverage_counts_the_optional_ids_covered_and_says_when_they_are_proved():
    result = coverage("LGC")
    assert result.optional == {"MSS/CONF.02": claims.COVERAGE_NOTE, "MSS/CONF.09": claims.COVERAGE_NOTE}
    assert {"MSS/CONF.02", "MSS/CONF.09", "LGC.INS/va1.63"} <= set(result.covered)
    assert not result.neither
    counts = result.to_dict()["counts"]
    assert counts["covered"] / counts["total"] >= 0.70  # issue 16: LGC coverage ≥ 70 %
    shown = CliRunner().invoke(app, ["rem", "coverage", "--couloir", "LGC"]).output
    line = next(line for line in shown.splitlines() if "MSS/CONF.09" in line)
    assert line.startswith("  COVERED") and line.endswith(f"({claims.COVERAGE_NOTE})")


UNCLAIMED_SCENARIO = """
import json
import pytest

RUN = json.loads({run!r})


@pytest.fixture(scope="session")
def segur_proof_run():
    return RUN


@pytest.mark.rem("MSS/CONF.02")
def test_tls13(segur_check):
    segur_check("mss-tls13")
"""


def test_with_the_pytest_plugin_an_unclaimed_option_is_skipped_not_passed(pytester, monkeypatch):
    monkeypatch.delenv("SEGUR_CLAIMS", raising=False)
    run = {"plan": {"couloir": "RIS"}, "claims": [], "tasks": [], "journals": {"mssante": []}}
    pytester.makepyfile(test_unclaimed=UNCLAIMED_SCENARIO.format(run=json.dumps(run)))
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    assert result.parseoutcomes() == {"skipped": 1} and result.ret == pytest.ExitCode.OK
    assert f"{claims.NOT_CLAIMED_NOTE} (tls13: " in result.stdout.str()


def test_the_plugin_refuses_an_unknown_claim_before_the_mocks_start(pytester, monkeypatch):
    for name in ("SEGUR_SUT", "SEGUR_COULOIR", "SEGUR_PROOF_SIZE", "SEGUR_CLAIMS"):
        monkeypatch.delenv(name, raising=False)
    scenarios = str(Path(claims.__file__).resolve().parents[1])
    result = pytester.runpytest(str(Path(scenarios) / "test_lgc_proof.py"), "-p", "no:cacheprovider", "-c",
                                os.devnull, "--rootdir", scenarios, "--segur-sut", "reference-lgc",
                                "--segur-couloir", "LGC", "--segur-claims", "tls14", "-k", "tls_1_3")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*--segur-claims: unknown claim(s) tls14*"])
