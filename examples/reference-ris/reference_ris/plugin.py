"""The reference RIS as a harness plugin: `--sut plugin:reference_ris.plugin:run` (or `--sut reference-ris`).

`run(task, endpoints)` does the task and returns what was done; it raises a `RisError` when the report
was not sent (the harness's PluginDriver reads an exception as a failure). The defect comes from
`REFERENCE_RIS_DEFECT`; `make_runner(defect=…, state_dir=…)` gives a runner with its own settings.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping

from . import config as config_module
from . import mssante
from .core import run_task
from .defects import check as check_defect
from .pam_feed import Listener


def _task(task):
    from segur.scenarios.driver import Task

    return task if isinstance(task, Task) else Task.from_dict(task)


def make_runner(defect: str | None = None, *, state_dir=None, config: Mapping | None = None,
                listen: bool = False):
    """A `run(task, endpoints)` with a fixed defect (None: the correct RIS), state directory and settings
    (`config`: Config field names → values, applied last). `listen` (with a `state_dir`) starts the RIS's
    PAM listener for the runner's life: `run.product_endpoints` announces it (`{"pam": "mllp://…"}`),
    `run.close()` stops it."""
    defect = check_defect(defect)

    def run(task, endpoints: Mapping) -> dict:
        settings = config_module.from_endpoints(endpoints, config_module.from_env({
            k: v for k, v in os.environ.items() if k != "SEGUR_ENDPOINTS"}))
        if state_dir is not None:
            settings = config_module.replace(settings, state_dir=str(state_dir))
        if config:
            settings = config_module.replace(settings, **dict(config))
        return run_task(_task(task), settings, defect).to_dict()

    run.defect = defect
    run.product_endpoints = {}
    run.product_claims = mssante.CLAIMS  # the optional requirements it honours (docs/sut.md)
    run.close = lambda: None
    if listen:
        if state_dir is None:
            raise ValueError("the PAM listener needs the runner's state_dir (its patient file is there)")
        listener = Listener(state_dir, defect).start()
        run.product_endpoints = {"pam": listener.url}
        run.close = weakref.finalize(run, listener.stop)
    return run


def run(task, endpoints: Mapping) -> dict:
    """The plugin entry point; the defect, if any, from `REFERENCE_RIS_DEFECT`."""
    return make_runner(os.environ.get("REFERENCE_RIS_DEFECT"))(task, endpoints)
