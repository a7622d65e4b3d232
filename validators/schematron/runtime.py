"""Compile packs once, cache them, run them with SaxonC-HE.

Caching, two levels:

* on disk, the generated XSLT, named by the SHA-256 of the pack's whole closure (every ``.sch``
  it includes, every value-set file it loads, a marker for each referenced file that is missing)
  salted with the compiler version and mode. Default folder ``.segur-cache/schematron/`` under
  the current directory, or ``$SEGUR_CACHE_DIR/schematron/``, or the ``cache_dir`` argument. A
  second process finds the XSLT there and does not regenerate it (SaxonC-HE cannot export a
  compiled SEF, so Saxon's own compilation, well under a second, happens once per process);
* in the process, the compiled Saxon executable, keyed by digest, mode and pack folder, and the
  loaded pack model, revalidated by the size and mtime of every file of the closure.

Threads: one ``PySaxonProcessor`` per process (SaxonC wants a single one). Saxon executables
and trees are not thread-safe, so every call into Saxon (compile, parse, transform) holds one
process-wide lock: calling ``compile_pack``/``run`` from several threads is safe, but runs one
at a time. For parallel validation use processes (each builds its own processor and
executables; the disk cache is shared and written atomically). Do not fork a process after it
has created the processor: start workers with the ``spawn`` method (or fork before the first
``compile_pack``); a forked child that finds a processor from its parent builds a new one, unless it
calls `keep_processor_after_fork` (a fork made while no other thread was in Saxon: the batch's workers).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from saxonche import PySaxonProcessor

from .compiler import BASE_PLACEHOLDER, COMPILER_VERSION, MODES, generate_xslt
from .errors import PackCompileError, PackLoadError
from .loader import Schema, closure_digest, load_schema
from .results import SchematronFailure, SchematronResult, severity_of

# Observable counters (tests use them to prove what was and was not redone).
stats = {"loaded": 0, "generated": 0, "disk_hits": 0, "saxon_compiles": 0, "runs": 0}

_lock = threading.RLock()  # guards the caches below
_saxon_lock = threading.RLock()  # every call into SaxonC (not thread-safe)
_processor = None
_processor_pid: int | None = None
_executables: dict[tuple, object] = {}
_schemas: dict[tuple, tuple[Schema, tuple]] = {}


def default_cache_dir() -> Path:
    root = os.environ.get("SEGUR_CACHE_DIR")
    return (Path(root) if root else Path.cwd() / ".segur-cache") / "schematron"


def saxon_processor():
    """The process's single SaxonC processor (recreated in a forked child)."""
    global _processor, _processor_pid
    with _lock:
        if _processor is None or _processor_pid != os.getpid():
            _processor = PySaxonProcessor(license=False)
            _processor_pid = os.getpid()
            _executables.clear()
            _parsed.clear()
        return _processor


def keep_processor_after_fork() -> None:
    """In a child forked from a process that created the processor: keep using the parent's processor,
    its compiled packs and trees, instead of building a new one (`saxon_processor`). Only for a fork
    made while no other thread was inside Saxon (the batch's forked workers, docs/validator.md)."""
    global _processor_pid
    with _lock:
        if _processor is not None:
            _processor_pid = os.getpid()


def _stamp(schema: Schema) -> tuple:
    out = []
    for path in [*schema.files, *schema.value_sets]:
        try:
            st = path.stat()
            out.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(path), None, None))
    out.extend((str(p), p.exists()) for p in schema.missing_files)
    return tuple(out)


def _schema_for(sch_path: Path, phase: str | None) -> Schema:
    key = (str(sch_path), phase)
    with _lock:
        cached = _schemas.get(key)
        if cached is not None and _stamp(cached[0]) == cached[1]:
            return cached[0]
    schema = load_schema(sch_path, phase)
    stats["loaded"] += 1
    with _lock:
        _schemas[key] = (schema, _stamp(schema))
    return schema


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".xsl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class CompiledPack:
    """A pack ready to run. Build it with `compile_pack`."""

    name: str
    sch_path: Path
    digest: str
    mode: str
    xslt_path: Path
    schema: Schema = field(repr=False)
    _executable: object = field(repr=False, default=None)

    @property
    def version(self) -> str | None:
        return self.schema.schema_version

    def run(self, document: bytes) -> SchematronResult:
        """Run the pack on one document (its bytes, already parsed safely by the caller)."""
        start = time.perf_counter()
        with _saxon_lock:
            node = _saxon_document(document)
            try:
                out = self._executable.transform_to_string(xdm_node=node)
                run_error = None
            except Exception as exc:  # a dynamic error outside any assert (e.g. a global let)
                out, run_error = None, exc
        stats["runs"] += 1
        failures = self._failures(out) if out is not None else [self._run_error(run_error)]
        elapsed = (time.perf_counter() - start) * 1000
        return SchematronResult(self.name, failures, elapsed, meta=self._meta())

    # ------------------------------------------------------------------ decoding
    def _meta(self) -> dict:
        s = self.schema
        return {
            "title": s.title,
            "schemaVersion": s.schema_version,
            "phase": s.phase,
            "namespaces": [(p, u) for p, u in s.namespaces if p and u],
            "patterns": [p.id for p in s.patterns],
        }

    def _failures(self, out: str) -> list[SchematronFailure]:
        root = etree.fromstring(out.encode("utf-8"))
        checks = self._check_table()
        rows = []
        for seq, rec in enumerate(root):
            info = checks[int(rec.get("a"))]
            n = rec.get("n")
            node_index = int(n) if n else None
            if rec.tag == "f":
                diagnostics = tuple((d.get("id"), _norm("".join(d.itertext()))) for d in rec.findall("d"))
                for d in rec.findall("d"):
                    rec.remove(d)
                kind = info["kind"]
                message = _norm("".join(rec.itertext()))
                role, severity = info["role"], severity_of(info["role"])
            else:
                diagnostics = ()
                kind = "pack-error"
                message = _norm(
                    f"pack error: the {info['kind']} could not be evaluated "
                    f"[{rec.get('c')}] {''.join(rec.itertext())}"
                )
                role, severity = info["role"], "error"
            failure = SchematronFailure(
                pack=self.name,
                pattern_id=info["pattern_id"],
                rule_context=info["context"],
                assert_id=info["id"],
                test=info["test"],
                kind=kind,
                role=role,
                severity=severity,
                message=message,
                location=rec.get("l"),
                node_index=node_index,
                pattern_index=info["pattern_index"],
                check_index=int(rec.get("a")),
                rule_id=info["rule_id"],
                see=info["see"],
                flag=info["flag"],
                diagnostics=diagnostics,
            )
            rows.append((info["pattern_index"], seq, failure))
        # The fast shape interleaves patterns; order as the classic (ISO skeleton) run does:
        # pattern by pattern, document order within a pattern.
        rows.sort(key=lambda r: (r[0], r[1]))
        return [r[2] for r in rows]

    def _check_table(self) -> list[dict]:
        table = getattr(self, "_checks_cache", None)
        if table is None:
            table = [None] * len(self.schema.checks)
            for p in self.schema.patterns:
                for r in p.rules:
                    for item in r.items:
                        if hasattr(item, "test"):
                            table[item.index] = {
                                "kind": item.kind,
                                "test": item.test,
                                "id": item.id,
                                "role": item.role,
                                "see": item.see,
                                "flag": item.flag,
                                "pattern_id": p.id,
                                "pattern_index": p.index,
                                "context": r.context,
                                "rule_id": r.id,
                            }
            self._checks_cache = table
        return table

    def _run_error(self, exc: Exception) -> SchematronFailure:
        return SchematronFailure(
            pack=self.name,
            pattern_id=None,
            rule_context=None,
            assert_id=None,
            test=None,
            kind="pack-error",
            role=None,
            severity="error",
            message=_norm(f"pack error: the pack could not run on this document: {exc}"),
            location=None,
            node_index=None,
        )


_parsed: list[tuple[object, object]] = []  # a few recently parsed documents (the bytes/str object, XdmNode)
_PARSED_KEEP = 2


def _saxon_document(document: bytes):
    """The document as a Saxon tree. The last few are kept, keyed by the identity of the (immutable)
    bytes object: the validator runs several packs (volet + common) on the same object, parsing
    once, without hashing megabytes on every run to find it again."""
    with _lock:
        for known, node in _parsed:
            if known is document:
                return node
    proc = saxon_processor()
    try:
        if isinstance(document, bytes) and len(document) >= _VIA_FILE_FROM and _is_utf8(document):
            node = _parse_via_file(proc, document)
        else:
            node = proc.parse_xml(xml_text=_document_text(document))
    except Exception as exc:  # the caller parsed it already: should not happen
        raise ValueError(f"Saxon could not parse the document: {exc}") from exc
    with _lock:
        _parsed.insert(0, (document, node))
        del _parsed[_PARSED_KEEP:]
    return node


#: Below this size Saxon builds the tree faster from a string than from a temporary file (the file's
#: creation and removal dominate): an N1 document with its body replaced by the placeholder is 8-30 KB.
_VIA_FILE_FROM = 64 * 1024
_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")
_ENC = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _is_utf8(document: bytes) -> bool:
    """True for a UTF-8 document (the usual CDA): no UTF-16 BOM, no declared encoding but UTF-8."""
    if document.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    m = _DECL.match(document[3:] if document.startswith(b"\xef\xbb\xbf") else document)
    e = _ENC.search(m.group(0)) if m else None
    return e is None or e.group(1).lower() in (b"utf-8", b"utf8")


def _parse_via_file(proc, document: bytes):
    """Saxon's tree of a UTF-8 document, read by Saxon from a temporary file.

    Saxon builds a large document markedly faster from a file than from a Python string (a 1.4 MB
    CDA N1 with its base64 PDF: ~14 ms instead of ~20-30 ms, without the decode to ``str`` and
    the re-encoding on the way in); the bytes are the ones the validator already parsed safely
    (no DTD, no entity), and the stylesheets resolve nothing against the document's URI.
    """
    fd, path = tempfile.mkstemp(prefix="segur-sch-", suffix=".xml")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(document)
        return proc.parse_xml(xml_file_name=path)
    finally:
        os.unlink(path)


def _document_text(document: bytes) -> str:
    """Decode per the BOM / XML declaration, dropping the declaration (SaxonC reads text)."""
    if isinstance(document, str):
        return _DECL.sub("", document.encode("utf-8"), count=1).decode("utf-8")
    if document.startswith(b"\xef\xbb\xbf"):
        document = document[3:]
        encoding = "utf-8"
    elif document.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = document.decode("utf-16")
        return re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    else:
        encoding = "utf-8"
        m = _DECL.match(document)
        if m:
            e = _ENC.search(m.group(0))
            if e:
                encoding = e.group(1).decode("ascii")
    m = _DECL.match(document)
    body = document[m.end():] if m else document
    return body.decode(encoding)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _bind_value_sets(proc, executable, schema: Schema, sch_path: Path) -> None:
    """Parse the pack's value-set files once and hand them to the fast stylesheet as the map
    ``$sgr:vs`` (absolute URI → document), which its ``sgr:doc``/``sgr:document`` consult before
    falling back to a real load. Saxon would otherwise re-read them on every run."""
    docs = {}
    for path in schema.value_sets:
        try:
            node = proc.parse_xml(xml_file_name=str(path))
        except Exception as exc:  # unparsable value set: leave it to the real call to fail
            schema.warnings.append(f"value-set file does not parse, left to runtime: {path} ({exc})")
            continue
        # Saxon's resolve-uri() writes file:/x where pathlib writes file:///x: register both.
        uri = path.as_uri()
        docs[uri] = node
        if uri.startswith("file:///"):
            docs["file:/" + uri[len("file:///"):]] = node
    if docs:
        executable.set_parameter("{urn:segur:schematron:internal}vs", proc.make_map2(docs))


def pack_digest(schema: Schema) -> str:
    """Content digest of the pack closure + compiler version + phase (the mode is not in it)."""
    return closure_digest(schema, f"segur-schematron/{COMPILER_VERSION}/{schema.phase}")


def compile_pack(
    sch_path: Path | str, cache_dir: Path | str | None = None, mode: str = "fast", phase: str | None = None
) -> CompiledPack:
    """Load, generate (or read from the disk cache) and compile the pack at ``sch_path``.

    ``mode``: ``fast`` (one traversal) or ``classic`` (one traversal per pattern, ISO skeleton
    shape; the reference). ``phase``: a phase id, ``#ALL``, or None for the pack's defaultPhase.
    Raises `PackLoadError` (unreadable/unparsable file, missing include, unknown abstract
    pattern…) or `PackCompileError` (the generated XSLT does not compile: an XPath error in a rule).
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: expected one of {MODES}")
    sch_path = Path(sch_path).resolve()
    if not sch_path.is_file():
        raise PackLoadError("Schematron pack not found", sch_path)
    schema = _schema_for(sch_path, phase)
    digest = pack_digest(schema)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    xslt_path = cache / f"{sch_path.stem}.{mode}.{digest[:40]}.xsl"
    base = sch_path.parent.as_uri() + "/"
    key = (digest, mode, base)
    with _lock:
        executable = _executables.get(key)
    if executable is None:
        if xslt_path.is_file():
            text = xslt_path.read_text(encoding="utf-8")
            stats["disk_hits"] += 1
        else:
            text = generate_xslt(schema, mode)
            stats["generated"] += 1
            _write_atomic(xslt_path, text)
        with _saxon_lock:
            proc = saxon_processor()
            xp = proc.new_xslt30_processor()
            try:
                executable = xp.compile_stylesheet(stylesheet_text=text.replace(BASE_PLACEHOLDER, base))
            except Exception as exc:
                raise PackCompileError(
                    f"the XSLT generated from the pack does not compile: {exc}", sch_path
                ) from exc
            stats["saxon_compiles"] += 1
            if mode == "fast":
                _bind_value_sets(proc, executable, schema, sch_path)
        with _lock:
            _executables[key] = executable
    return CompiledPack(
        name=sch_path.stem,
        sch_path=sch_path,
        digest=digest,
        mode=mode,
        xslt_path=xslt_path,
        schema=schema,
        _executable=executable,
    )


def pack_info(sch_path: Path | str) -> dict:
    """What a pack is and loads, for the report's "which packs ran" (no Saxon involved)."""
    sch_path = Path(sch_path).resolve()
    schema = _schema_for(sch_path, None)
    base = sch_path.parent
    rel = lambda p: os.path.relpath(p, base)  # noqa: E731
    return {
        "name": sch_path.stem,
        "path": str(sch_path),
        "version": schema.schema_version,
        "title": schema.title,
        "query_binding": schema.query_binding,
        "phase": schema.phase,
        "file_count": len(schema.files),
        "patterns": len(schema.patterns),
        "rules": schema.rule_count,
        "checks": len(schema.checks),
        "value_sets": [rel(p) for p in schema.value_sets],
        "missing_files": [rel(p) for p in schema.missing_files],
        "include_fixups": [{"href": h, "used": rel(p)} for h, p in schema.include_fixups],
        "warnings": list(schema.warnings),
        "digest": pack_digest(schema),
    }
