"""`validate()`: the one entry point of the CDA validator (CLI, DMP and MSSanté mocks, benchmarks).

Layers, in order; each either runs, is skipped (the report says why) or fails (a crash becomes
an error finding, never a traceback and never a false VALID):

``xml``        safe parse (always; a refusal makes the document *unreadable*, exit code 2)
``structure``  the project's CDA skeleton checks (root check only when the XSD runs)
``xsd``        CDA_extended.xsd of the pack
``schematron`` the official CI-SIS packs: the common content-model pack, plus the volet pack
               of an N3 document (see `profiles`)
``segur``      the project's own Ségur rules (`segur.validators.segur_rules`)

Reuse: a `Validator` resolves its pack once and shares the per-process caches (XSD schema,
compiled packs); `validate()` keeps one `Validator` per distinct configuration. Thread safety:
`Validator.validate` may be called from several threads; XSD validation and each compiled
pack's runs are serialised by locks (lxml schemas and saxonche transformers are not documented
as thread-safe), so threads give correctness, processes give throughput.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

from lxml import etree

from segur.kernel import rules
from segur.kernel.findings import Finding, Severity
from segur.kernel.rules import Rule
from segur.validators import body_text, profiles, safe_xml, structure, xsd
from segur.validators import packs as packs_mod
from segur.validators.config import pack_setting, value_sets_setting
from segur.validators.locate import Locator
from segur.validators.report import LAYERS, LayerRun, PackRun, Report

DEFAULT_LAYERS = LAYERS

ENGINE_RULES = {
    rule.id: rule
    for rule in (
        Rule("VAL-001", "validator", "The {layer} layer failed on this document: {detail}",
             "La couche {layer} a échoué sur ce document : {detail}",
             hint="This is a defect of the harness or of the pack, not necessarily of the document; "
                  "report it with the document if you can.", source="project policy"),
        Rule("VAL-002", "validator",
             "The {layer} layer did not run ({reason}); strict mode requires every layer.",
             "La couche {layer} n'a pas été exécutée ({reason}) ; le mode strict exige toutes les couches.",
             hint="Configure the pack directory (--pack, SEGUR_PACK or segur.toml), "
                  "or drop --strict to accept a partial check.",
             source="project policy"),
        Rule("SCH-001", "schematron", "The Schematron pack {pack} could not be run: {detail}",
             "Le pack Schematron {pack} n'a pas pu être exécuté : {detail}",
             hint="Check that the pack directory is complete (includes and value sets).",
             source="project policy"),
    )
}
rules.register(*ENGINE_RULES.values())


def _engine_finding(rule_id: str, lang: str, **context) -> Finding:
    rule = ENGINE_RULES[rule_id]
    params = {k: str(v) for k, v in context.items()}
    message = rule.message(lang, **context)
    return Finding(rule=rule.id, severity=rule.severity, layer=rule.layer, message=message,
                   hint=rule.hint or None, extra={"params": params})


class Validator:
    """A configured validator: pack resolved and layers chosen once, documents validated many times."""

    def __init__(self, pack=None, profile: str = "auto", layers: Iterable[str] | None = None, *,
                 max_size: int = safe_xml.DEFAULT_MAX_SIZE, lang: str = "en", schematron_mode: str = "fast",
                 cache_dir: str | Path | None = None, keep_svrl: bool = False, strict: bool = False,
                 schematron_full_body: bool | None = None, value_sets=None):
        """`pack`: a directory, a `PackDir`, ``None`` (resolve from env ``SEGUR_PACK`` / config files)
        or ``False`` (no pack). Raises `PackError` for a pack that is given but unusable.
        `value_sets`: ``[ROLE=]FILE`` specs of the user's value sets for the Ségur rules (e.g.
        ``["bio-results=circuit-bio.xml"]``), ``None`` (env ``SEGUR_VALUE_SETS`` / config files) or
        ``[]``; raises `ValueSetError` (a `ValueError`) for an unusable file.
        `strict`: a layer that should have run but was skipped (no pack, no engine…) is an error
        (`VAL-002`), so an incompletely checked document is never VALID.
        `schematron_full_body`: hand the Schematron packs the N1 body's base64 text as is instead of a
        placeholder (`schematron.body`); ``None`` reads ``SEGUR_SCHEMATRON_FULL_BODY``."""
        if pack is False:
            self.pack = None
        elif isinstance(pack, packs_mod.PackDir):
            self.pack = pack
        elif pack is None:
            found = pack_setting()
            self.pack = packs_mod.PackDir.open(found.value, found.source) if found else None
        else:
            self.pack = packs_mod.PackDir.open(pack, "argument")
        self.layers = tuple(layers) if layers is not None else DEFAULT_LAYERS
        unknown = set(self.layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}; known: {', '.join(LAYERS)}")
        if lang not in ("en", "fr"):
            raise ValueError(f"lang must be 'en' or 'fr', not {lang!r}")
        self.profile = profile or "auto"
        self.check_profile(self.profile)
        if self.profile.lower() in ("auto", "none", "common"):
            self.profile = self.profile.lower()
        self.max_size = max_size
        self.lang = lang
        self.schematron_mode = schematron_mode
        self.cache_dir = cache_dir
        self.keep_svrl = keep_svrl
        self.strict = strict
        if schematron_full_body is None:
            schematron_full_body = _full_body_requested()
        self.schematron_full_body = schematron_full_body
        self.value_sets = _load_value_sets(value_sets)
        self.settings = {
            "tool": f"segur-harness {_tool_version()}",
            "pack": str(self.pack.root) if self.pack else None,
            "pack_source": self.pack.source if self.pack else None,
            "xsd_digest": packs_mod.xsd_digest(self.pack.xsd) if self.pack else None,
            "layers": list(self.layers), "max_size": max_size, "schematron_mode": schematron_mode,
            "lang": lang, "strict": strict,
            "schematron_n1_body": "full" if schematron_full_body else "placeholder",
            "schematron_n3_media": "full" if schematron_full_body else "placeholder",
            "value_sets": {role: vs.label for role, vs in self.value_sets.items()},
        }

    def check_profile(self, profile: str) -> None:
        """Raise `UnknownProfile` unless `profile` is auto/none/common or a volet of the pack (without a
        pack: a volet of the project's table, which then only informs the Ségur rules)."""
        if profile.lower() in ("auto", "none", "common"):
            return
        if self.pack is None:
            if profiles.family_of(profile) is None:
                raise profiles.UnknownProfile(profile, sorted(profiles.VOLETS))
            return
        profiles.select(_EMPTY_CDA, self.pack.root, profile, packs_mod.usable)

    # -------------------------------------------------------------------------------------------
    def validate(self, document, name: str | None = None, profile: str | None = None) -> Report:
        """Validate one document (a path, bytes or XML text). Never raises for a bad document."""
        started = time.perf_counter()
        report = Report(settings=self.settings, document=name or _document_label(document))
        requested = profile or self.profile
        if profile:
            self.check_profile(profile)
        if requested.lower() in ("auto", "none", "common"):
            requested = requested.lower()
        try:
            self._run(document, name, requested, report)
            if self.strict and not report.unreadable:
                for layer in report.layers:
                    chosen = layer.reason in ("not requested", "--profile none") or (
                        layer.reason or "").startswith("not a CDA document")
                    if layer.status == "skipped" and not chosen:
                        report.findings.append(_engine_finding("VAL-002", self.lang, layer=layer.name,
                                                               reason=layer.reason))
        finally:
            report.timings["total_ms"] = (time.perf_counter() - started) * 1000
        return report

    def _run(self, document, name, requested, report: Report) -> None:
        lang = self.lang
        t = time.perf_counter()
        try:
            parsed = safe_xml.parse(document, max_size=self.max_size, name=name, lang=lang)
        except safe_xml.UnreadableDocument as refused:
            report.document = refused.name or report.document
            report.size = refused.size
            report.unreadable = True
            report.findings.extend(refused.findings)
            report.layers.append(LayerRun("xml", "ran", None, _ms(t)))
            for layer in LAYERS[1:]:
                report.layers.append(LayerRun(layer, "skipped", "the document could not be read as XML"))
            return
        report.document, report.size = parsed.name, parsed.size
        body_text.read_from_source(parsed.data, parsed.tree)  # the N1 body's text, sliced when it can be
        report.timings["parse_ms"] = _ms(t)
        report.layers.append(LayerRun("xml", "ran", None, report.timings["parse_ms"]))
        tree, locator = parsed.tree, Locator(parsed.data, parsed.tree)
        report.profile = {"requested": requested, "level": profiles.document_level(tree.getroot())}

        gate = None  # reason to skip the remaining layers
        # -- structure --
        if "structure" in self.layers:
            t = time.perf_counter()
            if self.pack is not None and "xsd" in self.layers:
                found = structure.check_root(tree, locator, lang)
                reason = "root check only: the XSD layer checks the rest of the skeleton"
            else:
                found = structure.check(tree, locator, lang)
                reason = None
            report.findings.extend(found + structure.check_encoding(parsed.data, lang))
            report.layers.append(LayerRun("structure", "ran", reason, _ms(t)))
            gating = [f.rule for f in found if f.rule in ("CDA-STRUCT-001", "CDA-STRUCT-007")]
            if gating:
                gate = f"not a CDA document ({gating[0]})"
        else:
            report.layers.append(LayerRun("structure", "skipped", "not requested"))

        # -- xsd --
        self._layer(report, "xsd", gate, lambda: self._xsd(tree, locator, report))
        # -- schematron --
        selection = selection_error = None
        if "schematron" in self.layers and gate is None and self.pack is not None and requested != "none":
            try:
                selection = profiles.select(tree.getroot(), self.pack.root, requested, packs_mod.usable)
                report.profile.update(selection.to_dict())
            except Exception as exc:  # e.g. pack files vanished: reported by the schematron layer below
                selection_error = exc

        def schematron():
            if selection_error is not None:
                raise selection_error
            return self._schematron(self._schematron_document(parsed), locator, selection, report)
        self._layer(report, "schematron", gate or self._schematron_skip(requested), schematron)
        # -- segur --
        if selection is not None:
            volet = selection.volet.name if selection.volet else None
        else:  # no Schematron selection (no pack, --profile none): a forced volet still informs Ségur rules
            volet = requested if requested.lower() not in ("auto", "none", "common") else None
        self._layer(report, "segur", gate, lambda: self._segur(tree, locator, volet, report))

    def _layer(self, report: Report, name: str, gate: str | None, run) -> None:
        if name not in self.layers:
            report.layers.append(LayerRun(name, "skipped", "not requested"))
            return
        if gate:
            report.layers.append(LayerRun(name, "skipped", gate))
            return
        t = time.perf_counter()
        try:
            status = run()
        except Exception as exc:  # a crash is reported as an error, never as VALID
            report.findings.append(_engine_finding("VAL-001", self.lang, layer=name,
                                                   detail=f"{type(exc).__name__}: {exc}"))
            report.layers.append(LayerRun(name, "failed", f"{type(exc).__name__}: {exc}", _ms(t)))
            return
        if isinstance(status, LayerRun):
            status.elapsed_ms = _ms(t)
            report.layers.append(status)
        else:
            report.layers.append(LayerRun(name, "ran", status, _ms(t)))
        report.timings[f"{name}_ms"] = _ms(t)

    # -- the layers ------------------------------------------------------------------------------
    def _xsd(self, tree, locator, report: Report):
        if self.pack is None:
            return LayerRun("xsd", "skipped", _NO_PACK)
        try:
            schema = xsd.load_schema(self.pack.xsd)
        except xsd.SchemaLoadError as exc:
            report.findings.append(Finding(rule="XSD-002", severity=Severity.ERROR, layer="xsd",
                                           message=xsd.XSD_LOAD_RULE.message(self.lang, detail=str(exc)),
                                           hint=xsd.XSD_LOAD_RULE.hint))
            return LayerRun("xsd", "failed", f"schema not loadable: {exc}")
        report.findings.extend(xsd.check(tree, locator, schema, self.lang))
        return f"{self.pack.xsd}"

    def _schematron_skip(self, requested: str) -> str | None:
        if requested == "none":
            return "--profile none"
        if self.pack is None:
            return _NO_PACK
        return None

    def _schematron_document(self, parsed) -> bytes:
        """The bytes the packs see: the N1 body text, or an N3's embedded base64 media values, replaced by
        a placeholder (no rule reads them, and Saxon's tree of them is most of the document's cost)
        unless the full body was asked for."""
        if self.schematron_full_body:
            return parsed.data
        # start-up: the Schematron package loads Saxon, 30-90 ms of every `segur --help` (measured)
        from segur.validators.schematron.body import schematron_view

        return schematron_view(parsed.data, parsed.tree)

    def _schematron(self, data: bytes, locator: Locator, selection, report: Report):
        to_run = [("common", self.pack.common_pack, None)]
        if selection is not None and selection.volet is not None:
            to_run.append(("volet", selection.volet.path, selection.volet))
        failed = []
        for role, path, volet in to_run:
            closure, digest = packs_mod.closure_and_digest(path)
            name = path.stem
            version = volet.version if volet else _version_of(path)
            run = PackRun(name=name, version=version, role=role, path=str(path), digest=digest)
            report.packs.append(run)
            t = time.perf_counter()
            try:
                compiled = packs_mod.compiled_pack(path, self.schematron_mode, self.cache_dir)
                result = compiled.run(data)
            except Exception as exc:
                report.findings.append(_engine_finding("SCH-001", self.lang, pack=name,
                                                       detail=f"{type(exc).__name__}: {exc}"))
                failed.append(name)
                continue
            finally:
                run.elapsed_ms = _ms(t)
            for failure in result.failures:
                finding = schematron_finding(failure, name, locator, self.lang)
                report.findings.append(finding)
                if finding.severity == Severity.ERROR:
                    run.errors += 1
                elif finding.severity == Severity.WARNING:
                    run.warnings += 1
            if self.keep_svrl:
                run.svrl = result.svrl
        detail = ", ".join(f"{p.name}" for p in report.packs)
        if failed:
            return LayerRun("schematron", "failed", f"pack(s) not run: {', '.join(failed)}")
        return detail

    def _segur(self, tree, locator, volet, report: Report):
        extra = {"value_sets": self.value_sets} if self.value_sets else {}  # only when the user gave some
        pack_root = self.pack.root if self.pack else None
        # start-up: the Ségur rules and their value sets, 20-60 ms of every `segur --help` (measured)
        from segur.validators import segur_rules

        found = segur_rules.check_segur(tree, locator, volet, pack_root=pack_root, **extra)
        report.findings.extend(_translate(f, self.lang) for f in found)
        return None


def _document_label(document) -> str:
    """How a report names a document given without a name: its path, or ``<memory>`` for bytes or XML text."""
    is_path = isinstance(document, str | Path) and not str(document).lstrip().startswith("<")
    return str(document) if is_path else "<memory>"


def _load_value_sets(value_sets) -> dict:
    """The user's value sets by role (`segur_rules.value_sets`); None means the configured ones."""
    if value_sets is None:
        found = value_sets_setting()
        value_sets = found.value if found else []
    if not value_sets:
        return {}
    # start-up: see `Validator._segur`
    from segur.validators.segur_rules.value_sets import load_value_sets

    return load_value_sets(value_sets)


_EMPTY_CDA = etree.fromstring(b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>')
_NO_PACK = "no pack directory (give --pack DIR, set SEGUR_PACK or 'pack' in segur.toml)"


@functools.cache
def _tool_version() -> str:
    try:
        return version("segur-harness")
    except Exception:  # running from a source tree without metadata
        return "unknown"


def _full_body_requested() -> bool:
    """``SEGUR_SCHEMATRON_FULL_BODY=1``: the packs are to see the real N1 body and N3 media texts."""
    return os.environ.get("SEGUR_SCHEMATRON_FULL_BODY", "").strip().lower() in ("1", "true", "yes", "on")


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _version_of(path: Path) -> str | None:
    stem = path.stem
    tail = stem.rsplit("_", 1)[-1]
    return tail if tail[:4].isdigit() else None


def _translate(finding: Finding, lang: str) -> Finding:
    """The French message of an own rule: ``extra["message_fr"]`` when the rule module gave it, else
    the rule's French text filled with ``extra["params"]``; unchanged when neither is known."""
    if lang != "fr":
        return finding
    extra = finding.extra or {}
    message = extra.get("message_fr")
    if not message:
        try:
            rule = rules.get(finding.rule)
        except KeyError:
            return finding
        params = extra.get("params")
        if not rule.message_fr or (params is None and "{" in rule.message_fr):
            return finding
        message = rule.message("fr", **(params or {}))
    return replace(finding, message=message)


# ---------------------------------------------------------------------------------------------
# Schematron failures -> findings

_SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}


def derived_rule_id(pack_name: str, pattern_id: str | None, rule_context: str | None,
                    test: str | None) -> str:
    """A stable id for an assert without ``@id``: ``<volet>/<pattern>/<8 hex of sha1(context|test)>``.

    The volet is the pack name without ``CI-SIS_`` and without its version (so an unchanged assert
    keeps its id across pack versions), e.g. ``IMG-CR-IMG/principal/1a2b3c4d``.
    """
    family = pack_name.removeprefix("CI-SIS_")
    tail = family.rsplit("_", 1)
    if len(tail) == 2 and tail[1][:4].isdigit():
        family = tail[0]
    digest = hashlib.sha1(f"{rule_context or ''}|{' '.join((test or '').split())}".encode()).hexdigest()[:8]
    return f"{family}/{pattern_id or '-'}/{digest}"


def schematron_finding(failure, pack_name: str, locator: Locator, lang: str = "en") -> Finding:
    """One `SchematronFailure` as a `Finding` with line, column and XPath in the user's file."""
    if getattr(failure, "kind", None) == "pack-error":
        finding = _engine_finding("SCH-001", lang, pack=pack_name, detail=failure.message)
        where = {"pattern": failure.pattern_id, "context": failure.rule_context}
        return replace(finding, xpath=failure.location, extra={**finding.extra, **where})
    rule_id = failure.assert_id or derived_rule_id(pack_name, failure.pattern_id, failure.rule_context,
                                                   failure.test)
    line = column = None
    xpath = failure.location
    if failure.node_index is not None:
        try:
            line, column = locator.position_of_index(failure.node_index)
            xpath = locator.xpath_of_index(failure.node_index)
            attribute = (failure.location or "").rpartition("/")[2]
            if attribute.startswith("@"):  # the context was an attribute of that element
                xpath += "/" + attribute
        except IndexError:
            pass
    return Finding(
        rule=rule_id, severity=_SEVERITIES.get(failure.severity, Severity.ERROR), layer="schematron",
        message=" ".join((failure.message or "").split()), line=line, column=column, xpath=xpath,
        extra={"pack": pack_name, "pattern": failure.pattern_id, "context": failure.rule_context,
               "test": failure.test, "role": failure.role, "kind": failure.kind},
    )


# ---------------------------------------------------------------------------------------------
_VALIDATORS: dict[tuple, Validator] = {}
_VALIDATORS_LOCK = threading.Lock()


def validate(document, profile: str = "auto", pack=None, layers: Iterable[str] | None = None, *,
             max_size: int = safe_xml.DEFAULT_MAX_SIZE, lang: str = "en", name: str | None = None,
             schematron_mode: str = "fast", cache_dir: str | Path | None = None,
             keep_svrl: bool = False, strict: bool = False, schematron_full_body: bool | None = None,
             value_sets=None) -> Report:
    """Validate one CDA document; see the module docstring for the layers.

    `document`: a path, bytes, or XML text. `pack`: a pack directory, ``None`` (env
    ``SEGUR_PACK`` / ``segur.toml``), or ``False`` (no pack: xml, structure and segur layers only).
    `profile`: ``auto``, ``none`` (no Schematron), ``common`` (common pack only) or a volet
    (``IMG-CR-IMG``, ``IMG-CR-IMG_2024.01``). Raises `PackError`/`UnknownProfile`/`ValueError` for
    usage errors only; a bad document always gives a `Report`. `schematron_full_body`, `value_sets`:
    see `Validator`.
    """
    if schematron_full_body is None:
        schematron_full_body = _full_body_requested()
    if pack is None:
        found = pack_setting()
        pack_key = ("configured", str(found.value) if found else None)
    elif pack is False:
        pack_key = ("none",)
    elif isinstance(pack, packs_mod.PackDir):
        pack_key = ("dir", str(pack.root))
    else:
        pack_key = ("dir", str(Path(pack).expanduser().resolve()))
    if value_sets is None:
        found_sets = value_sets_setting()
        value_sets = found_sets.value if found_sets else ()
    sets_key = tuple(map(str, value_sets))
    key = (pack_key, tuple(layers) if layers is not None else None, max_size, lang, schematron_mode,
           str(cache_dir) if cache_dir else None, keep_svrl, strict, schematron_full_body, sets_key)
    with _VALIDATORS_LOCK:
        validator = _VALIDATORS.get(key)
        if validator is None:
            validator = Validator(pack, profile, layers, max_size=max_size, lang=lang,
                                  schematron_mode=schematron_mode, cache_dir=cache_dir, keep_svrl=keep_svrl,
                                  strict=strict, schematron_full_body=schematron_full_body,
                                  value_sets=list(sets_key))
            _VALIDATORS[key] = validator
    return validator.validate(document, name=name, profile=profile)
