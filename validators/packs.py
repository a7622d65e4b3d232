"""The official ANS pack directory, and the per-process cache of compiled Schematron packs.

A pack directory is laid out as ANS publishes it (ansforge/TestContenuCDA-3-0):
``infrastructure/cda/CDA_extended.xsd``, ``schematrons/`` (volet packs, ``include/``,
``abstract/``, ``profils/``) and ``jeuxDeValeurs/``. It is read in place, never copied.

Compiled packs are kept in memory for the life of the process (the Schematron engine also keeps
its own on-disk cache keyed by content hash), so a long-running mock or a batch worker compiles
each pack once. The cache is guarded by a lock; runs of one compiled pack are serialised by a
per-pack lock because saxonche does not document its transformer as thread-safe. For parallel
throughput use processes (``segur validate --jobs N``), each with its own cache.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from segur.validators import pack_closure
from segur.validators.pack_closure import closure_and_digest
from segur.validators.profiles import COMMON_PACK, VoletPack

XSD_ENTRY = Path("infrastructure/cda/CDA_extended.xsd")


class PackError(ValueError):
    """The pack directory is missing or not laid out as ANS publishes it (a usage error)."""


@dataclass(frozen=True)
class PackDir:
    """An ANS CDA pack directory, checked once when opened."""

    root: Path
    source: str = "argument"

    @classmethod
    def open(cls, path: str | Path, source: str = "argument") -> PackDir:
        root = Path(path).expanduser()
        if not root.is_dir():
            raise PackError(f"pack directory {root} (from {source}) does not exist")
        missing = [str(p) for p in (XSD_ENTRY, Path("schematrons"), COMMON_PACK) if not (root / p).exists()]
        if missing:
            raise PackError(f"{root} (from {source}) is not an ANS CDA pack directory: missing "
                            + ", ".join(missing) + " (expected the layout of ansforge/TestContenuCDA-3-0)")
        return cls(root.resolve(), source)

    @property
    def xsd(self) -> Path:
        return self.root / XSD_ENTRY

    @property
    def common_pack(self) -> Path:
        return self.root / COMMON_PACK


_XSD_DIGESTS: dict[Path, str] = {}
_XSD_DIGESTS_LOCK = threading.Lock()


def xsd_digest(xsd: Path) -> str:
    """SHA-256 over every ``.xsd`` under the schema's folder (CDA_extended.xsd and what it includes)."""
    folder = xsd.resolve().parent
    with _XSD_DIGESTS_LOCK:
        if folder in _XSD_DIGESTS:
            return _XSD_DIGESTS[folder]
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.xsd")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    value = "sha256:" + digest.hexdigest()
    with _XSD_DIGESTS_LOCK:
        _XSD_DIGESTS[folder] = value
    return value


def usable(volet: VoletPack) -> bool:
    return closure_and_digest(volet.path)[0].usable


# ---------------------------------------------------------------------------------------------
# Compiled packs, one per (path, mode) per process.

class CompiledEntry:
    def __init__(self, compiled):
        self.compiled = compiled
        self.lock = threading.Lock()

    def run(self, data: bytes):
        with self.lock:
            return self.compiled.run(data)


_COMPILED: dict[tuple[Path, str, str | None], CompiledEntry] = {}
_COMPILED_LOCK = threading.Lock()


def compiled_pack(sch: Path, mode: str = "fast", cache_dir: str | Path | None = None) -> CompiledEntry:
    """The compiled form of a pack, compiled at most once per process (engine errors propagate)."""
    # start-up: the Schematron engine loads Saxon, 30-90 ms of every `segur --help` (measured)
    from segur.validators.schematron import compile_pack

    key = (sch.resolve(), mode, str(cache_dir) if cache_dir else None)
    with _COMPILED_LOCK:
        entry = _COMPILED.get(key)
        if entry is None:
            entry = CompiledEntry(compile_pack(sch, cache_dir=cache_dir, mode=mode))
            _COMPILED[key] = entry
    return entry


def clear_caches() -> None:
    """Forget compiled packs and digests (tests; a long-running process after a pack update)."""
    with _COMPILED_LOCK:
        _COMPILED.clear()
    pack_closure.clear_cache()
