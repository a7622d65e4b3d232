"""The Ségur proof, couloir LGC (médecine de ville: the médecin traitant's VSM, CDA R2 N3):
one test per check its suite lists (`suites.SUITES["LGC"]`), marked with the REM ids it proves here.

Run with `pytest scenarios --segur-sut reference-lgc --segur-couloir LGC`, or through
`segur proof --couloir LGC`.
"""

import pytest

from segur.scenarios.suites import suite_tests

pytestmark = pytest.mark.couloir("LGC")

globals().update(suite_tests("LGC"))
