"""The console explains a rule id from the catalogue, also in a process that has not checked anything yet."""

from __future__ import annotations

import subprocess
import sys

from segur.console.catalogue import explain


def test_a_console_alone_knows_the_rem_ids_of_the_validators_and_the_dmps_rules():
    script = ("import segur.services\nfrom segur.console.app import create_app\n"
              "from segur.console.catalogue import explain\n"
              "from segur.console.service import ConsoleService\n"
              "create_app(ConsoleService())\n"
              "print(explain({'rule': 'SEGUR-BODY-002'})['rem'], explain({'rule': 'DMP-CDA-012'})['rem'])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         check=True)
    assert "RIS:RIS.DOC/va1.16" in out.stdout and "SC.DMP/va1.14" in out.stdout


def test_an_unknown_rule_id_is_shown_as_it_came():
    explained = explain({"rule": "NOT-A-RULE", "message": "m", "hint": None})
    assert explained["rem"] == [] and explained["catalogued"] is False and explained["message"] == "m"
