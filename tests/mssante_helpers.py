"""What the MSSanté mock's test modules share: the world's mailboxes they write with, and one mock per
module (CDA validator off: these modules test the protocols and the admin API) emptied after each test."""

from __future__ import annotations

import pytest

from segur.fixtures.world import load_world
from segur.mocks.mssante.testing import running_mssante

PRO = "jacques.bideault@radiologie-ambroise.mssante.fr"
PRO2 = "laurent.chevallier@ch-toulouse.mssante.fr"


def mock_fixtures(**options):
    """``mss, clean = mock_fixtures()`` in a test module: `mss`, the running mock (module scope), and
    `clean` (autouse), which empties the mailboxes, the journal and the faults after each test."""

    @pytest.fixture(scope="module")
    def mss():
        with running_mssante(load_world(), **{"validate": False, **options}) as running:
            yield running

    @pytest.fixture(autouse=True)
    def clean(mss):
        yield
        mss.mock.reset()
        mss.backend.journal.clear()
        mss.backend.faults.clear()

    return mss, clean
