"""Every module that declares rules, imported here, so the catalogue (`segur rules`, the evidence pack's
explanations) is complete whatever else was imported. A new area's `rules.py` gets a line below;
tests/segur/test_rule_catalogue.py fails until it has one.
"""

from __future__ import annotations

from segur.console import rules as console_rules
from segur.kernel import rules
from segur.mocks.annuaire import rules as annuaire_rules
from segur.mocks.dmp import rules as dmp_rules
from segur.mocks.igc import rules as igc_rules
from segur.mocks.insi import rules as insi_rules
from segur.mocks.mssante import rules as mssante_rules
from segur.mocks.pam import rules as pam_rules
from segur.mocks.psc import rules as psc_rules
from segur.validators import api as validator_engine_rules
from segur.validators import safe_xml as xml_rules
from segur.validators import structure as structure_rules
from segur.validators import xsd as xsd_rules
from segur.validators.segur_rules import catalogue as segur_rules

RULE_MODULES = (
    xml_rules,
    structure_rules,
    xsd_rules,
    validator_engine_rules,
    segur_rules,
    insi_rules,
    dmp_rules,
    mssante_rules,
    annuaire_rules,
    igc_rules,
    psc_rules,
    pam_rules,
    console_rules,
)


def all_rules() -> list[rules.Rule]:
    """Every rule of the harness, sorted by id."""
    return rules.all_rules()
