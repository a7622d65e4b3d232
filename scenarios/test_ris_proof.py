"""The Ségur proof, couloir RIS (radiology, CR-IMG): one test per check its suite lists
(`suites.SUITES["RIS"]`), marked with the REM ids it proves here.

Each test is made from its check's declaration (`segur.scenarios.checks.CHECKS`: name, description, REM
ids, judge). Run with `pytest scenarios --segur-sut reference-ris --segur-couloir RIS`, or through
`segur proof --couloir RIS`.
"""

import pytest

from segur.scenarios.suites import suite_tests

pytestmark = pytest.mark.couloir("RIS")

globals().update(suite_tests("RIS"))
