"""The capabilities of the proof beyond the core 10/10/1 (see `segur.scenarios.capability`), in the
order their tasks run and their checks are listed."""

from __future__ import annotations

from segur.scenarios.capabilities import consent, consult, identity_feeds, inbox, lookup, pam_feed, psc
from segur.scenarios.capabilities.claims import CAPABILITY as OPTIONAL_CLAIMS
from segur.scenarios.capabilities.histo import BIO_CAPABILITY as HISTO_BIO
from segur.scenarios.capabilities.histo import CAPABILITY as HISTO
from segur.scenarios.capabilities.hl7_cda import DPI_CAPABILITY as HL7_CDA_DPI
from segur.scenarios.capabilities.hl7_cda import PFI_CAPABILITY as HL7_CDA_PFI
from segur.scenarios.capabilities.lps import DPI_CAPABILITY as LPS_DPI
from segur.scenarios.capabilities.lps import PFI_CAPABILITY as LPS_PFI
from segur.scenarios.capability import Capability

CAPABILITIES: tuple[Capability, ...] = (lookup.CAPABILITY, consult.CAPABILITY, HISTO, HISTO_BIO,
                                        inbox.CAPABILITY, psc.CAPABILITY, pam_feed.CAPABILITY,
                                        identity_feeds.CAPABILITY, consent.CAPABILITY,
                                        HL7_CDA_DPI, HL7_CDA_PFI, *psc.OTHER_COULOIRS, *lookup.OTHER_COULOIRS,
                                        LPS_DPI, LPS_PFI, OPTIONAL_CLAIMS)


def for_couloir(couloir: str) -> list[Capability]:
    return [capability for capability in CAPABILITIES if capability.takes(couloir)]


def unrun_checks(couloir: str, running: list[Capability]) -> dict[str, str]:
    """{test name: check id} of the couloir's capability checks no capability in `running` judges: a run
    without the others' tasks cannot judge them (a check two capabilities share stays if one runs)."""
    kept = {check.id for capability in running for check in capability.checks}
    return {check.test: check.id for capability in for_couloir(couloir) if capability not in running
            for check in capability.checks if check.id not in kept}


def owner_of(scenario: str) -> Capability | None:
    """The capability whose plan adds tasks of this scenario (None: a core scenario)."""
    return next((capability for capability in CAPABILITIES if capability.owns(scenario)), None)


def capability_checks() -> dict:
    """Every capability's checks, by id."""
    return {check.id: check for capability in CAPABILITIES for check in capability.checks}
