"""The CNAM INSi teleservice mock (SOAP 1.2): search for a patient's INS by identity traits or from
the Vitale card, on the shared test world; faults, journal and admin API for tests (docs/insi.md)."""

from segur.mocks.insi.app import InsiMock
from segur.mocks.insi.backend import InsiBackend, Software
from segur.mocks.insi.testing import RunningInsi, running_insi

__all__ = ["InsiBackend", "InsiMock", "RunningInsi", "Software", "running_insi"]
