"""Load an ISO Schematron pack as published: includes, abstract patterns, phases, lets.

This is the front half of the compiler. It follows the three preprocessing steps of ISO/IEC
19757-3 (the ones the ANS tool runs with its ISO reference stylesheets):

1. *include*: each ``<include href>`` is replaced by the element it points at (the root element
   of the referenced file, or the element with the ``#id`` fragment), recursively, each href
   resolved against the file that contains it. A path that does not exist is retried
   case-insensitively, component by component (the ANS packs were written on Windows:
   ``profils/IHE.sch`` includes ``E_directiveAnticipee_int.sch`` for ``E_directiveanticipee_int.sch``);
2. *abstract patterns*: each ``<pattern is-a="A">`` becomes a copy of the rules of the abstract
   pattern ``A`` in which every ``$param`` is replaced, textually and in the order the params are
   written, by the param's value. As in the reference implementation the substitution applies to
   query attributes (``context``, ``test``, ``select``, ``path``, and ``let/@value``), not to
   message text;
3. *abstract rules*: each ``<extends rule="R"/>`` is replaced by the content of the abstract rule
   ``R`` (one in the same pattern first, else anywhere in the schema).

Then the phase is applied (``defaultPhase``, else ``#ALL``) and the result is a `Schema` model
the code generator turns into XSLT. Value-set files are found the way the official tool finds
them: every quoted ``*.xml``/``*.rdf`` path in a query or let, resolved against the folder of the
entry ``.sch`` (where the ISO toolchain writes the compiled stylesheet).
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from .errors import PackLoadError

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
S = f"{{{SCH_NS}}}"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)

# Attributes holding XPath expressions, where abstract-pattern parameters are substituted.
_QUERY_ATTRS = ("context", "test", "select", "path", "value")
# Quoted relative paths to value-set / terminology files inside expressions.
_FILE_LITERAL = re.compile(r"""['"]([^'"\s]+\.(?:xml|rdf))['"]""")


@dataclass
class Let:
    name: str
    value: str | None  # XPath; None when the let has element content instead
    content: list = field(default_factory=list)  # lxml nodes when value is None


@dataclass
class Check:
    """One assert or report, after expansion. ``index`` is unique in the pack."""

    index: int
    kind: str  # "assert" | "report"
    test: str
    element: etree._Element  # the (expanded) assert/report element, for its message content
    id: str | None = None
    role: str | None = None
    flag: str | None = None
    see: str | None = None
    diagnostics: tuple[str, ...] = ()


@dataclass
class Rule:
    index: int  # global, in document order over active patterns
    context: str
    id: str | None
    items: list  # Let | Check, in document order, extends already inlined


@dataclass
class Pattern:
    index: int  # position among active patterns (the classic mode's M<index>)
    id: str | None
    lets: list[Let]
    rules: list[Rule]


@dataclass
class Schema:
    entry: Path
    title: str | None
    schema_version: str | None
    query_binding: str | None
    phase: str
    namespaces: list[tuple[str, str]]
    lets: list[Let]  # schema-level lets (global xsl:param, as in the ISO skeleton)
    patterns: list[Pattern]  # active patterns only, document order
    checks: list[Check]  # every check, by index
    diagnostics: dict[str, etree._Element]
    files: list[Path]  # the .sch closure, in load order
    include_fixups: list[tuple[str, Path]]  # (href as written, file actually used)
    value_sets: list[Path]  # referenced data files that exist
    missing_files: list[Path]  # referenced data files that do not exist
    warnings: list[str]
    xslt_declarations: list = field(default_factory=list)  # xsl:key / xsl:function children of sch:schema

    @property
    def rule_count(self) -> int:
        return sum(len(p.rules) for p in self.patterns)


# --------------------------------------------------------------------------- include step


def _parse(path: Path, referrer: Path | None) -> etree._ElementTree:
    try:
        return etree.parse(str(path), _PARSER)
    except OSError as exc:
        raise PackLoadError(f"cannot read Schematron file ({exc})", path, referrer) from exc
    except etree.XMLSyntaxError as exc:
        raise PackLoadError(f"Schematron file does not parse ({exc})", path, referrer) from exc


def resolve_case_insensitive(path: Path) -> Path | None:
    """The existing file whose path equals ``path`` ignoring case, component by component."""
    if path.exists():
        return path
    parts = path.parts
    current = Path(parts[0])
    for part in parts[1:]:
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        if part in ("..", "."):
            current = candidate
            continue
        try:
            matches = sorted(p for p in current.iterdir() if p.name.lower() == part.lower())
        except OSError:
            return None
        if len(matches) != 1:
            return None
        current = matches[0]
    return current if current.exists() else None


class _Includer:
    def __init__(self) -> None:
        self.files: list[Path] = []
        self.fixups: list[tuple[str, Path]] = []
        self._cache: dict[Path, etree._ElementTree] = {}

    def load(self, path: Path, referrer: Path | None = None) -> etree._ElementTree:
        path = Path(path).resolve()
        if path not in self._cache:
            if not path.is_file():
                raise PackLoadError("Schematron file not found", path, referrer)
            self._cache[path] = _parse(path, referrer)
            self.files.append(path)
        return self._cache[path]

    def expand(self, element: etree._Element, base: Path, stack: tuple[Path, ...]) -> None:
        """Replace every sch:include under ``element`` (in place), recursively."""
        for inc in list(element.iter(S + "include")):
            href = (inc.get("href") or "").strip()
            if not href:
                raise PackLoadError("<include> without href", base)
            doc_part, _, fragment = href.partition("#")
            target = (base.parent / doc_part).resolve() if doc_part else base
            if doc_part and not target.exists() and "%" in doc_part:  # a URI-escaped href
                target = (base.parent / unquote(doc_part)).resolve()
            if doc_part and not target.exists():
                found = resolve_case_insensitive(target)
                if found is None:
                    raise PackLoadError(f"included file not found (href={href!r})", target, base)
                self.fixups.append((href, found))
                target = found.resolve()
            if target in stack:
                raise PackLoadError("include cycle", target, base)
            tree = self.load(target, base)
            if fragment:
                hits = tree.getroot().xpath("//*[@id=$f]", f=fragment)
                if not hits:
                    raise PackLoadError(f"no element with id {fragment!r} for include", target, base)
                replacement = [copy.deepcopy(hits[0])]
            else:
                root = tree.getroot()
                if root.tag.startswith(S):
                    replacement = [copy.deepcopy(root)]
                else:  # a foreign wrapper: take its Schematron children
                    replacement = [copy.deepcopy(c) for c in root
                                   if isinstance(c.tag, str) and c.tag.startswith(S)]
            holder = etree.Element("holder")
            holder.extend(replacement)
            self.expand(holder, target, stack + (target,))
            parent = inc.getparent()
            position = parent.index(inc)
            parent.remove(inc)
            for offset, node in enumerate(list(holder)):
                parent.insert(position + offset, node)


# --------------------------------------------------------------------------- abstract patterns


def _expand_abstract_patterns(schema: etree._Element, warnings: list[str], entry: Path) -> None:
    patterns = list(schema.iter(S + "pattern"))
    by_id: dict[str, list[etree._Element]] = {}
    for p in patterns:
        if p.get("id"):
            by_id.setdefault(p.get("id"), []).append(p)
    for inst in [p for p in patterns if p.get("is-a")]:
        is_a = inst.get("is-a")
        abstracts = [p for p in by_id.get(is_a, []) if p.get("abstract") == "true"]
        if not abstracts:
            raise PackLoadError(f"pattern {inst.get('id')!r} is-a {is_a!r}: no such abstract pattern", entry)
        # Params as the reference implementation reads them: by position, first pattern with that id.
        callers = by_id.get(inst.get("id"), [inst]) if inst.get("id") else [inst]
        if len(callers) > 1:
            warnings.append(f"several patterns have id {inst.get('id')!r}; params taken in document order")
        params: list[tuple[str, str]] = []
        n = 0
        while True:
            nth = [ps[n] for c in callers if len(ps := c.findall(S + "param")) > n]
            if not nth:
                break
            params.append((nth[0].get("name") or "", nth[0].get("value") or ""))
            n += 1
        parent = inst.getparent()
        position = parent.index(inst)
        parent.remove(inst)
        for offset, abstract in enumerate(abstracts):
            concrete = etree.Element(S + "pattern", nsmap=abstract.nsmap)
            if inst.get("id"):
                concrete.set("id", inst.get("id"))
            for child in abstract:
                concrete.append(copy.deepcopy(child))
            for el in concrete.iter():
                if not isinstance(el.tag, str) or el is concrete:
                    continue
                for attr in _QUERY_ATTRS:
                    if attr == "value" and el.tag != S + "let":
                        continue
                    text = el.get(attr)
                    if text is not None and "$" in text:
                        for name, value in params:
                            if name:
                                text = text.replace("$" + name, value)
                        el.set(attr, text)
            parent.insert(position + offset, concrete)
    for p in list(schema.iter(S + "pattern")):
        if p.get("abstract") == "true":
            p.getparent().remove(p)


# --------------------------------------------------------------------------- model


def _let(el: etree._Element) -> Let:
    if el.get("value") is not None:
        return Let(el.get("name"), el.get("value"))
    return Let(el.get("name"), None, [copy.deepcopy(c) for c in el])


class _ModelBuilder:
    def __init__(self, schema: etree._Element, entry: Path) -> None:
        self.schema = schema
        self.entry = entry
        self.checks: list[Check] = []
        self.rule_count = 0
        self.abstract_rules: dict[str, list[etree._Element]] = {}
        for r in schema.iter(S + "rule"):
            if r.get("abstract") == "true" and r.get("id"):
                self.abstract_rules.setdefault(r.get("id"), []).append(r)

    def _items(self, rule: etree._Element, pattern: etree._Element, depth: int = 0) -> list:
        if depth > 20:
            raise PackLoadError(f"extends recursion too deep at rule {rule.get('id')!r}", self.entry)
        items: list = []
        for child in rule:
            if not isinstance(child.tag, str):
                continue
            if child.tag == S + "let":
                items.append(_let(child))
            elif child.tag in (S + "assert", S + "report"):
                diagnostics = tuple((child.get("diagnostics") or "").split())
                check = Check(
                    index=len(self.checks),
                    kind="assert" if child.tag == S + "assert" else "report",
                    test=child.get("test") or "",
                    element=child,
                    id=child.get("id"),
                    role=child.get("role"),
                    flag=child.get("flag"),
                    see=child.get("see"),
                    diagnostics=diagnostics,
                )
                self.checks.append(check)
                items.append(check)
            elif child.tag == S + "extends":
                ref = child.get("rule")
                local = [r for r in pattern.findall(S + "rule")
                         if r.get("id") == ref and r.get("abstract") == "true"]
                targets = local or self.abstract_rules.get(ref, [])
                if not targets:
                    raise PackLoadError(f"<extends rule={ref!r}>: no such abstract rule", self.entry)
                for target in targets:
                    items.extend(self._items(target, pattern, depth + 1))
        return items

    def pattern(self, el: etree._Element, index: int) -> Pattern:
        lets = [_let(c) for c in el.findall(S + "let")]
        rules = []
        for r in el.findall(S + "rule"):
            if r.get("abstract") == "true":
                continue
            if r.get("context") is None:
                raise PackLoadError(f"rule without context in pattern {el.get('id')!r}", self.entry)
            rules.append(Rule(self.rule_count, r.get("context"), r.get("id"), self._items(r, el)))
            self.rule_count += 1
        return Pattern(index, el.get("id"), lets, rules)


def _file_literals(schema: etree._Element) -> list[str]:
    found: list[str] = []
    for el in schema.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in _QUERY_ATTRS:
            value = el.get(attr)
            if value:
                for m in _FILE_LITERAL.finditer(value):
                    if m.group(1) not in found:
                        found.append(m.group(1))
    return found


def load_schema(entry: Path | str, phase: str | None = None) -> Schema:
    """Load, include, expand and phase-filter the pack whose entry point is ``entry``."""
    entry = Path(entry).resolve()
    includer = _Includer()
    tree = includer.load(entry)
    root = copy.deepcopy(tree.getroot())
    if root.tag != S + "schema":
        raise PackLoadError("not an ISO Schematron schema (root is not sch:schema)", entry)
    includer.expand(root, entry, (entry,))
    warnings: list[str] = []
    _expand_abstract_patterns(root, warnings, entry)

    chosen = phase or root.get("defaultPhase") or "#ALL"
    if chosen == "#DEFAULT":
        chosen = root.get("defaultPhase") or "#ALL"
    patterns = [p for p in root if isinstance(p.tag, str) and p.tag == S + "pattern"]
    if chosen != "#ALL":
        phase_el = [p for p in root.findall(S + "phase") if p.get("id") == chosen]
        if not phase_el:
            # The ISO skeleton warns and then runs no pattern at all; say so loudly.
            warnings.append(f"phase {chosen!r} is not declared: no pattern is active")
            active_ids: set[str] = set()
        else:
            active_ids = {a.get("pattern") for a in phase_el[0].findall(S + "active")}
            known = {p.get("id") for p in patterns}
            for missing in sorted(active_ids - known - {None}):
                warnings.append(f"phase {chosen!r} activates unknown pattern {missing!r}")
        patterns = [p for p in patterns if p.get("id") in active_ids]

    builder = _ModelBuilder(root, entry)
    model_patterns = [builder.pattern(p, i) for i, p in enumerate(patterns)]

    namespaces = [(ns.get("prefix"), ns.get("uri")) for ns in root.findall(S + "ns")]
    diagnostics = {}
    for d in root.iter(S + "diagnostic"):
        if d.get("id"):
            diagnostics[d.get("id")] = d
    value_sets, missing = [], []
    for literal in _file_literals(root):
        target = (entry.parent / literal).resolve()
        (value_sets if target.is_file() else missing).append(target)
    xsl = "{http://www.w3.org/1999/XSL/Transform}"
    declared = (xsl + "key", xsl + "function")
    declarations = [copy.deepcopy(c) for c in root if isinstance(c.tag, str) and c.tag in declared]
    title_el = root.find(S + "title")
    return Schema(
        entry=entry,
        title=" ".join("".join(title_el.itertext()).split()) if title_el is not None else None,
        schema_version=root.get("schemaVersion"),
        query_binding=root.get("queryBinding"),
        phase=chosen,
        namespaces=namespaces,
        lets=[_let(c) for c in root.findall(S + "let")],
        patterns=model_patterns,
        checks=builder.checks,
        diagnostics=diagnostics,
        files=includer.files,
        include_fixups=includer.fixups,
        value_sets=value_sets,
        missing_files=missing,
        warnings=warnings,
        xslt_declarations=declarations,
    )


def closure_digest(schema: Schema, salt: str) -> str:
    """SHA-256 over the compiler version/mode (``salt``), every .sch of the closure and every
    data file it loads (a missing file counts as missing: adding it changes the digest)."""
    h = hashlib.sha256(salt.encode())
    base = schema.entry.parent
    for kind, paths in (("sch", schema.files), ("data", schema.value_sets)):
        for path in sorted(paths):
            h.update(f"\0{kind}\0{_rel(path, base)}\0".encode())
            h.update(path.read_bytes())
    for path in sorted(schema.missing_files):
        h.update(f"\0missing\0{_rel(path, base)}\0".encode())
    return h.hexdigest()


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return os.path.relpath(path, base)
