"""The PSC domain of the REM (PSC.01, PSC.08) in the proof: the capability `psc-login`
(scenarios/capabilities/psc.py) has the professional log in with Pro Santé Connect in every couloir, and its
checks `psc-login` (PSC.01: a complete code or CIBA flow, for the professional who logs in) and `psc-eidas1`
(PSC.08: every authentication request of the run asks acr_values=eidas1; not the PFI's, whose REM lacks it).

The clean RIS proof is the session's (`clean_proof`); one stack serves the module's small runs limited to
`psc-login` (and the RIS's `psc`): the RIS with both defects, each seeded on its task, BIO clean, DPI and PFI
with `psc-no-eidas1` on the login (the PFI is not judged on PSC.08). Finer cases judge hand-made run
records."""

from __future__ import annotations

import pytest
from seeded import named_tasks, seeded_proof

from segur.scenarios.capabilities import for_couloir, psc
from segur.scenarios.capability import ObserveContext
from segur.scenarios.checks import CHECKS
from segur.scenarios.suites import SUITES

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

LOGIN_CHECKS = ("psc-login", "psc-eidas1")
#: couloir → (reference product, task → seeded defect)
SEEDED = {"RIS": ("reference-ris", {"psc-login-01": "psc-login-local", "psc-01": "psc-no-eidas1"}),
          "BIO": ("reference-ris", {}),
          "DPI": ("reference-dpi", {"psc-login-01": "psc-no-eidas1"}),
          "PFI": ("reference-pfi", {"psc-login-01": "psc-no-eidas1"})}
#: couloir → the capabilities its run takes
CAPABILITIES = {"RIS": ("psc", "psc-login"), **dict.fromkeys(("BIO", "DPI", "PFI"), ("psc-login",))}


@pytest.fixture(scope="module")
def seeded(stack, tmp_path_factory):
    """couloir → the evidence of its small proof (`psc-login` only, and the RIS's `psc`) with SEEDED's
    defects."""
    return {couloir: seeded_proof(product, couloir, tmp_path_factory.mktemp(f"psc-domain-{couloir}"), defects,
                                  stack=stack, capabilities=CAPABILITIES[couloir]).evidence
            for couloir, (product, defects) in SEEDED.items()}


def _failing(evidence: dict) -> set[str]:
    return {check_id for check_id, result in evidence["checks"].items() if result["status"] == "fail"}


def _task(evidence: dict, task_id: str) -> dict:
    return next(t for t in evidence["run"]["tasks"] if t["task"]["id"] == task_id)


# --- the plan and the suites (no mock) ------------------------------------------------------------------
def test_every_couloir_takes_the_login_and_its_checks_with_the_psc_rem_ids_of_its_rem():
    for couloir in ("RIS", "BIO", "LGC", "DPI", "PFI"):
        assert "psc-login" in {capability.name for capability in for_couloir(couloir)}
        assert CHECKS["psc-login"].rem[couloir] == ["PSC.01"]
        listed = [check_id for check_id in SUITES[couloir] if check_id in LOGIN_CHECKS]
        assert listed == (["psc-login"] if couloir == "PFI" else list(LOGIN_CHECKS)), couloir
    assert CHECKS["psc-eidas1"].rem["PFI"] == [] and CHECKS["psc-eidas1"].rem["DPI"] == ["PSC.08"]
    assert all(len(CHECKS[check_id].hint) > 40 for check_id in LOGIN_CHECKS)


# --- the correct reference products ---------------------------------------------------------------------
def test_the_reference_ris_logs_in_with_a_complete_flow_asking_eidas1_in_the_clean_proof(clean_proof):
    clean = clean_proof("RIS")
    checks = clean.evidence["checks"]
    assert clean.verdict == "pass", {c: r["problems"][:2] for c, r in checks.items() if r["status"] == "fail"}
    assert {c: checks[c]["status"] for c in LOGIN_CHECKS} == dict.fromkeys(LOGIN_CHECKS, "pass")
    facts = _task(clean.evidence, "psc-login-01")["observed"]["psc-login"]
    assert [g["grant_type"] for g in facts["grants"]] == ["authorization_code"]
    assert facts["requests"][0]["acr_values"] == "eidas1" and facts["requests"][0]["code_issued"]
    # every authentication request of the run is judged: the psc-* tasks' logins too, not only the login's
    judged = {entry["task"] for entry in checks["psc-eidas1"]["evidence"]}
    assert {"psc-login-01", "psc-01"} <= judged


def test_bio_passes_the_login_checks_and_takes_no_other_psc_task(seeded):
    evidence = seeded["BIO"]
    assert {c: evidence["checks"][c]["status"] for c in LOGIN_CHECKS} == dict.fromkeys(LOGIN_CHECKS, "pass")
    assert not _failing(evidence)
    assert [t["task"]["id"] for t in evidence["run"]["tasks"] if t["scenario"] in psc.SCENARIOS] == []


# --- the seeded defects -----------------------------------------------------------------------------------
def test_a_login_on_a_local_account_fails_psc_login_naming_the_task(seeded):
    result = seeded["RIS"]["checks"]["psc-login"]
    assert result["status"] == "fail" and named_tasks(result["problems"]) == {"psc-login-01"}
    assert "no authentication request reached PSC" in result["problems"][0]


def test_an_authorization_request_without_eidas1_fails_psc_eidas1_naming_only_its_task(seeded):
    result = seeded["RIS"]["checks"]["psc-eidas1"]
    assert result["status"] == "fail" and named_tasks(result["problems"]) == {"psc-01"}
    assert "PSC-AUTHZ-004" in result["problems"][0] and "acr_values=None" in result["problems"][0]
    # the two defects fail exactly their two checks, nothing else of the run
    assert _failing(seeded["RIS"]) == set(LOGIN_CHECKS)


def test_the_dpi_is_judged_on_eidas1_and_the_pfi_is_not(seeded):
    dpi, pfi = seeded["DPI"], seeded["PFI"]
    assert _failing(dpi) == {"psc-eidas1"}
    assert named_tasks(dpi["checks"]["psc-eidas1"]["problems"]) == {"psc-login-01"}
    assert dpi["checks"]["psc-login"]["status"] == "pass"
    # the PFI's REM has PSC.01, not PSC.08: the same login passes its one PSC check
    assert "psc-eidas1" not in pfi["checks"] or pfi["checks"]["psc-eidas1"]["status"] != "fail"
    assert pfi["checks"]["psc-login"]["status"] == "pass" and not _failing(pfi)


# --- finer cases on hand-made run records -----------------------------------------------------------------
def _exchange(seq: int, operation: str, task: str = "psc-login-01", *, acr: str | None = "eidas1",
              rules=(), idnps: str = "810000000001", grant: str | None = None, verdict: str = "ok") -> dict:
    params = {"login_hint": idnps, **({"acr_values": acr} if acr is not None else {})}
    meta = {"idnps": idnps, **({"grant_type": grant, "session": f"s{seq}"} if grant else {})}
    return {"seq": seq, "time": f"2026-12-07T01:00:{seq:02d}.000+00:00", "task": task, "operation": operation,
            "verdict": verdict, "rules": list(rules), "request": {"params": params}, "response": {},
            "meta": meta}


def _login_run(journal: list[dict], *, idnps: str = "810000000001", ok: bool = True) -> dict:
    """A run record with one `psc-login` task whose PSC journal is `journal`, observed by the capability."""
    given = {"id": "psc-login-01", "action": "login-psc", "extra": {"idnps": idnps}}
    every = ObserveContext(given, lambda _exchange, _service: True, {"psc": journal}, None, {})
    facts = psc.observe_login(every)
    task = {"task": given, "scenario": psc.LOGIN, "expect": psc.AUTHENTICATED,
            "result": {"ok": ok, "detail": "logged in"}, "observed": {"psc-login": facts}}
    return {"tasks": [task], "journals": {"psc": journal}}


def test_a_ciba_login_polled_to_its_tokens_is_a_complete_flow_and_is_judged_on_eidas1():
    journal = [_exchange(1, "ciba-auth"), _exchange(2, "token", grant=psc.CIBA_GRANT)]
    run = _login_run(journal)
    assert CHECKS["psc-login"].judge(run).status == "pass"
    assert CHECKS["psc-eidas1"].judge(run).status == "pass"
    journal[0] = _exchange(1, "ciba-auth", acr="eidas2", rules=[psc.ACR_RULE])
    failed = CHECKS["psc-eidas1"].judge(_login_run(journal))
    assert failed.status == "fail" and "CIBA authentication request #1" in failed.problems[0]


def test_an_authorization_never_redeemed_or_for_another_professional_is_no_login_of_the_professional():
    unredeemed = CHECKS["psc-login"].judge(_login_run([_exchange(1, "authorize")]))
    assert unredeemed.status == "fail" and "none redeemed for tokens" in unredeemed.problems[0]
    other = [_exchange(1, "authorize", idnps="810000000002"),
             _exchange(2, "token", idnps="810000000002", grant=psc.CODE_GRANT)]
    wrong = CHECKS["psc-login"].judge(_login_run(other))
    assert wrong.status == "fail"
    assert "PSC authenticated 810000000002, not the professional who logs in" in wrong.problems[0]
    # a refresh is no new authentication, and a login PSC completed but the product calls failed is a problem
    refreshed = [_exchange(1, "token", grant="refresh_token")]
    assert CHECKS["psc-login"].judge(_login_run(refreshed)).status == "fail"
    done = [_exchange(1, "authorize"), _exchange(2, "token", grant=psc.CODE_GRANT)]
    assert "says the login failed" in CHECKS["psc-login"].judge(_login_run(done, ok=False)).problems[0]


def test_eidas1_is_blocked_when_the_product_made_no_psc_authentication_request():
    result = CHECKS["psc-eidas1"].judge(_login_run([_exchange(1, "token", grant="refresh_token")]))
    assert result.status == "blocked" and not result.problems
