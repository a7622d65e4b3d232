"""The reference RIS: a small but complete radiology information system client for the Ségur proof.

It does what a referenced RIS must do for each report: get the patient's INS from INSi (search by
traits, code 00 only), write the CDA R2 report with that INS, and send it to the DMP (ITI-41 with a
signed VIHF) or by MSSanté (SMTP + IHE_XDM.ZIP) — through the services' public interfaces only.
Seeded defects (`reference_ris.defects.DEFECTS`) make it go wrong in the ways real products have.

    python -m reference_ris --task task.json [--config ris.toml] [--defect NAME]
    reference_ris.plugin:run(task, endpoints)
"""

from .core import Outcome, run_task
from .defects import DEFECTS
from .errors import ConfigError, IdentityNotQualified, Refused, RisError, ServiceUnavailable

__version__ = "1.0"
__all__ = ["DEFECTS", "ConfigError", "IdentityNotQualified", "Outcome", "Refused", "RisError",
           "ServiceUnavailable", "run_task"]
