"""The Ségur proof, couloir PFI (hôpital PFI: the DPI's documents relayed by the platform):
one test per check its suite lists (`suites.SUITES["PFI"]`), marked with the REM ids it proves here.

Run with `pytest scenarios --segur-sut reference-pfi --segur-couloir PFI`, or through
`segur proof --couloir PFI`.
"""

import pytest

from segur.scenarios.suites import suite_tests

pytestmark = pytest.mark.couloir("PFI")

globals().update(suite_tests("PFI"))
