"""Run the Annuaire santé mock in-process on a free port, for tests.

    with running_annuaire(unknown_parameters="fhir") as annuaire:   # an AnnuaireService, started
        SyncFHIRClient(annuaire.fhir_base, extra_headers={"ESANTE-API-KEY": "k"})
        annuaire.journal.entries()

The keywords are the settings of `AnnuaireConfig` (the `[annuaire]` section of `segur up`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from segur.kernel.service import StackContext
from segur.mocks.annuaire.models import BASE_PATH
from segur.mocks.annuaire.service import AnnuaireConfig, AnnuaireService


class RunningAnnuaire(AnnuaireService):
    """An `AnnuaireService` with the addresses a test needs."""

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def fhir_base(self) -> str:
        return self.base_url + BASE_PATH


def start_annuaire(world=None, *, host: str = "127.0.0.1", **settings) -> RunningAnnuaire:
    """A started mock on a free port unless `port` is given (`settings`: fields of `AnnuaireConfig`)."""
    context = StackContext.for_tests(world=world, host=host)
    return RunningAnnuaire(AnnuaireConfig(**{"port": 0, **settings}), context).start()


@contextmanager
def running_annuaire(world=None, **settings) -> Iterator[RunningAnnuaire]:
    running = start_annuaire(world, **settings)
    try:
        yield running
    finally:
        running.stop()
