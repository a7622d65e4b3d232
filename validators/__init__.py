"""The CDA validator: safe XML parsing, CDA R2 XSD, the official CI-SIS Schematron packs and the
project's own Ségur rules, behind one entry point.

    from segur.validators import validate
    report = validate("report.xml", pack="../shared/ref/cda")
    report.valid, report.exit_code, report.findings

See docs/validator.md.
"""

from segur.validators.api import Validator, derived_rule_id, validate
from segur.validators.config import ConfigError
from segur.validators.packs import PackDir, PackError
from segur.validators.profiles import UnknownProfile
from segur.validators.report import LAYERS, BatchSummary, LayerRun, PackRun, Report
from segur.validators.safe_xml import DEFAULT_MAX_SIZE

__all__ = [
    "DEFAULT_MAX_SIZE", "LAYERS", "BatchSummary", "ConfigError", "LayerRun", "PackDir", "PackError",
    "PackRun", "Report", "UnknownProfile", "Validator", "derived_rule_id", "validate",
]
