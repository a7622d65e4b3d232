"""CDA validation off the request threads: a pool of worker processes, each with its own Validator.

`segur.validators.Validator` serialises its XSD and Schematron runs inside one process (lxml and
saxonche objects are not documented as thread-safe), so threads give correctness and processes
give throughput. With `validation_workers > 0` the DMP mock sends each document to this pool;
the request thread waits for the report without holding the interpreter lock.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

from segur.validators import Validator

_WORKER_VALIDATOR = None


def _init(pack, max_size: int | None = None) -> None:
    global _WORKER_VALIDATOR

    _WORKER_VALIDATOR = Validator(pack=pack) if max_size is None else Validator(pack=pack, max_size=max_size)


def _validate(data: bytes, name: str | None):
    return _WORKER_VALIDATOR.validate(data, name=name)


class ProcessValidator:
    """Same `validate(bytes, name=)` as a Validator, run in `workers` processes (started on first use)."""

    def __init__(self, workers: int, pack=None, max_size: int | None = None):
        self.workers = workers
        self.pack = pack
        self.max_size = max_size
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the server process runs threads (cheroot), which fork does not copy safely.
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                    initargs=(self.pack, self.max_size))
            return self._pool

    def validate(self, data: bytes, name: str | None = None):
        return self._executor().submit(_validate, data, name).result()

    def warm_up(self, sample: bytes) -> None:
        """Start every worker and let each compile the packs once (before timing anything)."""
        futures = [self._executor().submit(_validate, sample, "warm-up") for _ in range(self.workers * 2)]
        for future in futures:
            future.result()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
