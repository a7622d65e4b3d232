"""Several worker processes serving one HTTP service on one port: `segur serve NAME --workers N`.

A supervisor reserves the port (port 0: one free port, chosen once) with a bound socket that never
listens, then forks N workers; each is a whole service (its app, its threads, its journal and faults)
listening on that port with SO_REUSEPORT. Why not one accept loop handing sockets to a pre-forked pool:
with SO_REUSEPORT the Linux kernel balances new connections over the listening processes itself, no
process sits in the middle of every connection, and a worker is exactly the service `segur serve NAME`
runs alone (same code, same tests). A worker that dies is replaced (logged); SIGTERM or Ctrl-C stops all.

What the workers share: whatever the service keeps on the stack's PostgreSQL store — the journal
(`journal_pg`), the faults (`faults_pg`), the judge's task. Hence more than one worker needs
`[stack] store = postgresql://…`. What stays per process: the in-memory state a mock keeps besides (INSi:
the IDAMs added through `/_admin/idams`). `POST /_admin/reset` reaches it in every worker: the worker that
answers bumps a reset generation in shared memory, and every worker resets before its next request
when its generation is behind. Tenants' instances are made per worker; their reset stays per worker.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait

from segur.kernel.config import ConfigError, setting
from segur.kernel.server import run_until_interrupted
from segur.kernel.service import HttpService, Service, StackContext

READY_TIMEOUT = 120.0  # seconds a worker may take to load its world and listen (a loaded CI machine)
QUICK_DEATH = 2.0  # a worker dying this soon after its start is restarted after a pause, not at once


@dataclass
class ProcessConfig:
    """How the kernel runs a service, beside its own settings: accepted in every HTTP service's `[NAME]`
    section and as `segur serve NAME --workers`. Kept out of the service's Config because a worker never
    reads it: each worker is the whole service, whatever the count."""

    workers: int = setting(1, "Worker processes serving the port (SO_REUSEPORT); more than 1 needs the "
                           "stack's store on PostgreSQL (--store postgresql://…), which they share.")


PROCESS_SETTINGS = tuple(item.name for item in dataclasses.fields(ProcessConfig))


def check_workers(cls: type[Service], workers: int, context: StackContext) -> None:
    """Refuse a worker count this service and stack cannot honour (a clear message, before any fork)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"[{cls.name}] workers must be a whole number of at least 1, not {workers!r}")
    if workers == 1:
        return
    if not issubclass(cls, HttpService):
        raise ConfigError(f"[{cls.name}] workers: only HTTP services run several worker processes")
    if not context.shared_store:
        raise ConfigError(f"[{cls.name}] workers = {workers} needs [stack] store = postgresql://… (or "
                          "--store): in-memory journals and faults would differ from one worker to the next")


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound with SO_REUSEPORT that never listens: it holds the port while workers come and go.

    A port someone already holds is refused first, by a bind without SO_REUSEPORT: another supervisor
    (of an earlier `segur serve`) would otherwise let us join its group and share its connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as cheroot: TIME_WAIT is no owner
            probe.bind((host, port))
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        holder.bind((host, port))
    except OSError:
        holder.close()
        raise
    return holder


def _log(message: str) -> None:
    print(f"segur: {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Start, watch and stop the worker processes of one HTTP service; start()/stop() like a service."""

    def __init__(self, cls: type[HttpService], config, context: StackContext, workers: int,
                 log: Callable[[str], None] = _log):
        check_workers(cls, workers, context)
        self.cls, self.config, self.context, self.count, self.log = cls, config, context, workers, log
        self._fork = multiprocessing.get_context("fork")
        self._generation = self._fork.Value("q", 0)  # reset generation, in memory the workers share
        self._workers: dict[int, multiprocessing.Process] = {}
        self._started: dict[int, float] = {}  # pid → monotonic time of its start
        self._holder: socket.socket | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._lock = threading.Lock()
        self.port = 0
        self.restarts = 0
        self.lines: list[str] = []
        self._endpoints: dict = {}

    @property
    def name(self) -> str:
        return self.cls.name

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(self._workers)

    def endpoints(self) -> dict:
        return dict(self._endpoints)

    @functools.cached_property
    def journal(self):
        """The journal every worker writes, read from here (`segur up`'s stack, the proof)."""
        # imported here: psycopg adds ~0.1 s to every `segur` start-up, and only workers need it
        from segur.kernel.journal_pg import PostgresJournal

        size = getattr(self.config, "journal_size", self.cls.journal_size)
        store, tenant = self.context.stack.store, self.context.tenant
        return PostgresJournal(self.name, store, tenant=tenant, max_entries=size)

    @functools.cached_property
    def faults(self):
        """The faults every worker draws from (`[faults]` of `segur up` are added here)."""
        from segur.kernel.faults_pg import PostgresFaultBook  # psycopg: the same start-up cost as `journal`

        return PostgresFaultBook(self.name, self.context.stack.store, self.cls.fault_kinds,
                                 tenant=self.context.tenant)

    def ready_lines(self) -> list[str]:
        pids = ", ".join(str(pid) for pid in self.pids())
        return [f"{self.name}: {self.count} worker processes (pids {pids}) on port {self.port}", *self.lines]

    def start(self) -> Supervisor:
        self._holder = reserve_port(self.context.stack.host, self.config.port)
        self.port = self._holder.getsockname()[1]
        self.config = dataclasses.replace(self.config, port=self.port)
        try:
            for _ in range(self.count):
                self._spawn()
        except BaseException:
            self.stop()
            raise
        name = f"segur-{self.name}-supervisor"
        self._watcher = threading.Thread(target=self._watch, name=name, daemon=True)
        self._watcher.start()
        return self

    def _spawn(self) -> int:
        """Fork one worker and wait until it listens; its pid."""
        parent_end, child_end = self._fork.Pipe(duplex=False)
        process = self._fork.Process(target=_serve_worker, name=f"segur-{self.name}-worker", daemon=False,
                                     args=(self.cls, self.config, self.context, self.count, self._generation,
                                           child_end))
        process.start()
        child_end.close()
        with self._lock:
            self._workers[process.pid] = process
            self._started[process.pid] = time.monotonic()
        deadline = time.monotonic() + READY_TIMEOUT
        while not parent_end.poll(0.1):
            if self._stopping.is_set() or not process.is_alive() or time.monotonic() > deadline:
                process.kill()
                process.join(5)
                with self._lock:
                    self._workers.pop(process.pid, None)
                raise RuntimeError(f"a {self.name} worker did not start (exit code {process.exitcode}): "
                                   "see its error above")
        message = parent_end.recv()
        parent_end.close()
        if message[0] != "ready":
            raise RuntimeError(f"a {self.name} worker failed to start: {message[1]}")
        self.lines, self._endpoints = message[1], message[2]
        return process.pid

    def _watch(self) -> None:
        """Replace a worker that died (a crash, `kill -9`) until stop() is called."""
        while not self._stopping.is_set():
            with self._lock:
                sentinels = {process.sentinel: process for process in self._workers.values()}
            for sentinel in wait(list(sentinels), timeout=0.5):
                dead = sentinels[sentinel]
                dead.join(1)
                if self._stopping.is_set():
                    return
                with self._lock:
                    self._workers.pop(dead.pid, None)
                self._replace(dead)

    def _replace(self, dead: multiprocessing.Process) -> None:
        code = dead.exitcode or 0
        why = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        self.log(f"{self.name} worker {dead.pid} died ({why}); starting another")
        lived = time.monotonic() - self._started.pop(dead.pid, 0.0)
        if lived < QUICK_DEATH:
            self._stopping.wait(1.0)  # a worker crashing at start: do not fork in a tight loop
            if self._stopping.is_set():
                return
        try:
            pid = self._spawn()
        except (RuntimeError, OSError) as exc:
            if self._stopping.is_set():
                return  # stop() came while it started: _spawn killed it
            self.log(f"{self.name}: the worker replacing {dead.pid} failed: {exc}")
            return
        self.restarts += 1
        self.log(f"{self.name} worker {pid} started in place of {dead.pid}")

    def stop(self) -> None:
        """SIGTERM every worker, wait for them (SIGKILL after 10 s), release the port.

        The watcher goes first: a replacement it is forking when stop() comes would otherwise join
        `_workers` after the list below was taken, and outlive the supervisor as an orphan.
        """
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(READY_TIMEOUT + 5)
            self._watcher = None
        with self._lock:
            workers = list(self._workers.values())
        for process in workers:
            if process.is_alive():
                process.terminate()
        for process in workers:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)
        with self._lock:
            self._workers.clear()
        if self._holder is not None:
            self._holder.close()
            self._holder = None


class ResetFollower:
    """WSGI middleware of a worker: reset the service's in-memory state when another worker was reset."""

    def __init__(self, app, reset: Callable[[], None], generation):
        self.app, self._reset, self._generation = app, reset, generation
        self._seen = generation.value
        self._lock = threading.Lock()

    def reset(self) -> None:
        """What `POST /_admin/reset` calls in this worker: reset here, then tell the others."""
        with self._lock:
            self._reset()
            with self._generation.get_lock():
                self._generation.value += 1
                self._seen = self._generation.value

    def __call__(self, environ, start_response):
        if self._generation.value != self._seen:
            with self._lock:
                current = self._generation.value
                if current != self._seen:
                    self._reset()
                    self._seen = current
        return self.app(environ, start_response)


def _serve_worker(cls, config, context: StackContext, workers: int, generation, channel) -> None:
    """A worker process: the whole service on the shared port until SIGTERM."""
    try:
        service = cls(config, context)
        service.workers, service.reuse_port = workers, True
        local_reset = service.reset
        create_app = service.create_app

        def followed_app():
            follower = ResetFollower(create_app(), local_reset, generation)
            service.reset = follower.reset  # the admin API's reset now reaches every worker
            return follower

        service.create_app = followed_app

        def ready() -> None:
            # Ctrl-C reaches the whole process group: the supervisor stops the workers, in order
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            channel.send(("ready", service.ready_lines(), service.endpoints()))
            channel.close()

        run_until_interrupted(service, on_ready=ready)
    except Exception as exc:
        channel.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    os._exit(0)  # no finaliser of the supervisor's objects (inherited by fork) runs in the worker
