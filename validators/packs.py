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
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from segur.validators.profiles import COMMON_PACK, VoletPack

XSD_ENTRY = Path("infrastructure/cda/CDA_extended.xsd")
SCH_NS = "http://purl.oclc.org/dsdl/schematron"
# Value-set files referenced by the packs as quoted relative paths ('../jeuxDeValeurs/JDV_x.xml').
_QUOTED_FILE = re.compile(r"""['"]([^'"\s]+\.(?:xml|rdf))['"]""")


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


# ---------------------------------------------------------------------------------------------
# Pack closure: which files a pack reads, whether they all exist, and its content digest.

@dataclass
class Closure:
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """False when an ``include`` is missing (the pack cannot be compiled)."""
        return not any(m.startswith("include ") for m in self.missing)


def _resolve_case_insensitive(path: Path) -> Path | None:
    """ANS packs were written on Windows: ``IHE.sch`` includes ``E_directiveAnticipee_int.sch`` for
    ``E_directiveanticipee_int.sch`` (../shared/ref/README.md, known defects). Match like Windows does."""
    if path.exists():
        return path
    parent = path.parent
    if parent.is_dir():
        for candidate in parent.iterdir():
            if candidate.name.lower() == path.name.lower():
                return candidate
    return None


def closure(sch: Path) -> Closure:
    """Every file a pack reads: its includes (recursively) and the value sets it names, resolved
    against the entry ``.sch`` folder as the official tool does (its compiled XSLT sits there)."""
    result = Closure()
    seen: set[Path] = set()
    entry_dir = sch.parent
    pending = [sch]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        result.files.append(current)
        try:
            text = current.read_bytes()
            tree = etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        except (OSError, etree.XMLSyntaxError) as exc:
            result.missing.append(f"include {current}: {exc}")
            continue
        for include in tree.iter(f"{{{SCH_NS}}}include"):
            href = include.get("href")
            if not href:
                continue
            target = _resolve_case_insensitive((current.parent / href).resolve())
            if target is None:
                result.missing.append(f"include {href} (from {current.name})")
            else:
                pending.append(target)
        for quoted in set(_QUOTED_FILE.findall(text.decode("utf-8", "replace"))):
            if "://" in quoted:
                continue
            target = (entry_dir / quoted).resolve()
            if target.is_file():
                if target not in seen:
                    seen.add(target)
                    result.files.append(target)
            else:
                result.missing.append(f"file {quoted}")
    result.files.sort()
    return result


_CLOSURES: dict[Path, tuple[float, Closure, str]] = {}
_CLOSURES_LOCK = threading.Lock()


def closure_and_digest(sch: Path) -> tuple[Closure, str]:
    """The pack's closure and a SHA-256 over the content of every file in it (cached per process)."""
    sch = sch.resolve()
    mtime = sch.stat().st_mtime
    with _CLOSURES_LOCK:
        cached = _CLOSURES.get(sch)
        if cached and cached[0] == mtime:
            return cached[1], cached[2]
    found = closure(sch)
    digest = hashlib.sha256()
    for path in found.files:
        digest.update(str(path.relative_to(sch.parent.parent) if path.is_relative_to(sch.parent.parent)
                          else path.name).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    value = "sha256:" + digest.hexdigest()
    with _CLOSURES_LOCK:
        _CLOSURES[sch] = (mtime, found, value)
    return found, value


_XSD_DIGESTS: dict[Path, str] = {}


def xsd_digest(xsd: Path) -> str:
    """SHA-256 over every ``.xsd`` under the schema's folder (CDA_extended.xsd and what it includes)."""
    folder = xsd.resolve().parent
    with _CLOSURES_LOCK:
        if folder in _XSD_DIGESTS:
            return _XSD_DIGESTS[folder]
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.xsd")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    value = "sha256:" + digest.hexdigest()
    with _CLOSURES_LOCK:
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
    with _CLOSURES_LOCK:
        _CLOSURES.clear()
