"""The registry of services `segur up`, `segur serve NAME` and the pytest plugin start, in start order.

Adding a service is adding its class here (see docs/architecture.md): its `Config` becomes the `[NAME]`
section of the stack config and the options of `segur serve NAME`.
"""

from __future__ import annotations

from segur.kernel.service import Service
from segur.mocks.annuaire.service import AnnuaireService
from segur.mocks.dmp.service import DmpService
from segur.mocks.igc.service import IgcService
from segur.mocks.insi.service import InsiService
from segur.mocks.mssante.service import MssanteService
from segur.mocks.pam.service import PamService
from segur.mocks.psc.service import PscService

SERVICES: tuple[type[Service], ...] = (IgcService, AnnuaireService, InsiService, DmpService, MssanteService,
                                       PscService, PamService)
BY_NAME: dict[str, type[Service]] = {service.name: service for service in SERVICES}
