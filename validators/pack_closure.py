"""A Schematron pack's closure: which files it reads (includes followed, value sets named), whether
they all exist, and a digest of their content. Apart from `packs` so that `profiles` (which `packs`
imports) can read a pack's files without an import cycle.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
# Value-set files referenced by the packs as quoted relative paths ('../jeuxDeValeurs/JDV_x.xml').
_QUOTED_FILE = re.compile(r"""['"]([^'"\s]+\.(?:xml|rdf))['"]""")


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
            tree = etree.fromstring(text, _SAFE_PARSER)
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


def clear_cache() -> None:
    """Forget the closures and digests (tests; a long-running process after a pack update)."""
    with _CLOSURES_LOCK:
        _CLOSURES.clear()
