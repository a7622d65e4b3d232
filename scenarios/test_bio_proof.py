"""The Ségur proof, couloir BIO (medical biology, CR-BIO): one test per check its suite lists
(`suites.SUITES["BIO"]`), marked with the REM ids it proves here.

Each test is made from its check's declaration (`segur.scenarios.checks.CHECKS`: name, description, REM
ids, judge). Run with `pytest scenarios --segur-sut reference-ris --segur-couloir BIO`, or through
`segur proof --couloir BIO`.
"""

import pytest

from segur.scenarios.suites import suite_tests

pytestmark = pytest.mark.couloir("BIO")

globals().update(suite_tests("BIO"))
