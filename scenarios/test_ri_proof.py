"""The Ségur proof, couloir RI (the hospital's identity referential, IHE PAM FR identity flows): one test
per check its suite lists (`suites.SUITES["RI"]`: the checks of `capabilities/identity_feeds.py`), marked
with the REM ids it proves here.

Run with `pytest scenarios --segur-sut reference-ri --segur-couloir RI`, or through
`segur proof --couloir RI`.
"""

import pytest

from segur.scenarios.suites import suite_tests

pytestmark = pytest.mark.couloir("RI")

globals().update(suite_tests("RI"))
