"""The Ségur proof, couloir DPI (hôpital DPI: lettre de liaison, CRO and ordonnance in CDA R2 N1):
one test per check its suite lists (`suites.SUITES["DPI"]`), marked with the REM ids it proves here.

Run with `pytest scenarios --segur-sut reference-dpi --segur-couloir DPI`, or through
`segur proof --couloir DPI`.
"""

import pytest

from segur.scenarios.suites import suite_tests

pytestmark = pytest.mark.couloir("DPI")

globals().update(suite_tests("DPI"))
