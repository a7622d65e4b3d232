"""Which rules of the official packs may read the text of an N3 document's embedded base64 value.

The Schematron layer hands the packs an N3 document whose ``observationMedia/value`` base64 text is a
short placeholder (`schematron.body`). That is only sound if no expression of a pack that may run on the
document reads that text: its content, its length, or the string value of an element containing it (an
ancestor's string value is the concatenation of every text node below it, the base64 included). This
module lists, mechanically, every expression that might:

1. *Which elements contain the value.* From the CDA schema of the pack (``infrastructure/cda/*.xsd``), the
   element names whose type can reach ``POCD_MT000040.ObservationMedia`` through child elements
   (`ancestor_names`): ``ClinicalDocument``, ``component``, ``section``, ``entry``, ``observation``… The
   value itself is ``value``; its text is a ``text()`` node.
2. *Which path expressions may select one of them.* A location path whose last step's node test is such a
   name (any prefix), ``value``, ``*``, ``node()``, ``.``, ``..``, ``/``, an ``ancestor``/``parent``/
   ``self`` axis, or ``text()`` after a ``value``, ``*``, ``node()``, ``//`` or descendant step
   (`reaching_paths`). Attributes and every other element (``title``, ``code``, a section's ``text``…)
   hold none of its characters.
3. *Whether the expression reads such a path's text.* It does not when the path only counts or tests
   existence: the direct argument of ``count``, ``exists``, ``empty``, ``not``, ``boolean``, ``name``,
   ``local-name``, ``namespace-uri``; a whole test, predicate or ``and``/``or`` operand (its effective
   boolean value); followed by ``/`` or ``[`` (the path goes on). Anything else — a comparison, an
   arithmetic operator, a string function, ``value-of``, ``data()``, a ``let`` (its variable may be
   compared later) — is listed (`audit_schema`).

Conservative by construction: a step name is matched without its prefix or predicates, every context is
considered (a relative ``cda:value`` under an ``observation`` is listed though it is not the embedded
one), and an unparsed construct is listed. The listed expressions are then read by a person
(docs/schematron.md, "What the packs see of an N3 document") and the tests pin the list
(`tests/validators/test_schematron_body_n3.py`), so a new pack version that adds one fails them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from segur.validators.schematron.loader import Let, load_schema

XS = "{http://www.w3.org/2001/XMLSchema}"
MEDIA_TYPE = "POCD_MT000040.ObservationMedia"

#: Functions whose direct argument's text is not read (existence, count, names).
_NOT_READING = {"count", "exists", "empty", "not", "boolean", "name", "local-name", "namespace-uri",
                "node-name", "root", "generate-id"}
_TOKEN = re.compile(r"""
    (?P<string>"[^"]*"|'[^']*')
  | (?P<number>\d+(\.\d*)?|\.\d+)
  | (?P<var>\$[\w.-]+(:[\w.-]+)?)
  | (?P<axis>[A-Za-z][\w.-]*::)
  | (?P<name>(\*|[A-Za-z_][\w.-]*)(:(\*|[A-Za-z_][\w.-]*))?)
  | (?P<op>//|/|\.\.|\.|@|!=|<=|>=|=|<|>|\|\||\||\(|\)|\[|\]|,|\+|-|\*)
  | (?P<space>\s+)
""", re.VERBOSE)
_WORD_OPERATORS = {"and", "or", "div", "mod", "eq", "ne", "lt", "le", "gt", "ge", "is", "to", "in",
                   "return", "satisfies", "then", "else", "instance", "of", "treat", "as", "cast",
                   "castable", "union", "intersect", "except", "idiv"}
_FLOW_WORDS = {"for", "some", "every", "let", "if"}


@dataclass(frozen=True)
class Read:
    """One expression of a pack that may read the embedded value's text."""

    pack: str  # the entry .sch file name
    where: str  # "rule <context>" or "let $name" (schema or pattern level)
    kind: str  # assert, report, let, value-of, name
    expression: str
    path: str  # the reaching path that is read


def ancestor_names(xsd_dir: Path) -> set[str]:
    """Local names of the CDA elements that may contain an ``observationMedia`` (itself included), read
    from the schema's complex types: a type reaches ObservationMedia when one of its child elements (or
    its base type) has that type or reaches it."""
    children: dict[str, set[tuple[str | None, str]]] = {}
    roots: set[tuple[str, str]] = set()
    for path in sorted(xsd_dir.rglob("*.xsd")):
        tree = etree.parse(str(path))
        for element in tree.getroot().iter(f"{XS}element"):
            if element.getparent().tag == f"{XS}schema" and element.get("type"):
                roots.add((element.get("name"), _local(element.get("type"))))
        for complex_type in tree.getroot().iter(f"{XS}complexType"):
            name = complex_type.get("name")
            if not name:
                continue
            edges = children.setdefault(name, set())
            for element in complex_type.iter(f"{XS}element"):
                if element.get("name") and element.get("type"):
                    edges.add((element.get("name"), _local(element.get("type"))))
            for extension in complex_type.iter(f"{XS}extension", f"{XS}restriction"):
                if extension.get("base"):
                    edges.add((None, _local(extension.get("base"))))
    reaching = {MEDIA_TYPE}
    grown = True
    while grown:
        grown = False
        for type_name, edges in children.items():
            if type_name not in reaching and any(child in reaching for _, child in edges):
                reaching.add(type_name)
                grown = True
    names = {name for edges in children.values() for name, child in edges if name and child in reaching}
    return names | {name for name, child in roots if child in reaching}


def _local(qname: str) -> str:
    return qname.rpartition(":")[2]


def tokens(expression: str) -> list[tuple[str, str]] | None:
    """``(kind, text)`` tokens of an XPath 2.0 expression, spaces dropped; None when some character is not
    understood (the caller lists the expression)."""
    found, position = [], 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            return None
        kind = match.lastgroup
        if kind != "space":
            found.append((kind, match.group()))
        position = match.end()
    return found


def reaching_paths(expression: str, names: set[str], context=frozenset({"*"})) -> list[str] | None:
    """The location paths of `expression` that may select the embedded value, its text or an element
    containing it *and* whose text is read (see the module doc). None when it cannot be tokenised."""
    toks = tokens(expression)
    if toks is None:
        return None
    read = []
    for start, end, here in _with_contexts(toks, context):
        steps = toks[start:end]
        if not _may_reach(steps, names, here, _continued(toks, start)):
            continue
        if not _only_tested(toks, start, end):
            read.append(" ".join(text for _, text in steps))
    return read


def _paths(toks: list[tuple[str, str]], low: int = 0, high: int | None = None, owner=None) -> list[tuple]:
    """``(start, end)`` token ranges of the location paths. A path is a run of steps (names, ``*``,
    ``.``, ``..``, ``@``, axes, kind tests such as ``text()``) joined by ``/`` or ``//``, with their
    predicates; a ``/`` after a variable or a call starts one too. The paths inside a path's predicates
    are listed too (they are evaluated), after it. Each item is ``(start, end, owner)``: `owner` is None
    for a path of the expression itself, ``(path start, index of the "[")`` for a predicate's path,
    whose context node is the one the owner's steps before that ``[`` select."""
    high = len(toks) if high is None else high
    ranges, i = [], low
    while i < high:
        kind, text = toks[i]
        operand_before = i > low and _ends_operand(toks[i - 1])
        starts_path = kind == "axis" or text in ("/", "//", ".", "..", "@") or (
            kind == "name" and not (text in _WORD_OPERATORS and operand_before)
            and not (text in _FLOW_WORDS and i + 1 < high and toks[i + 1][0] == "var")
            and not (text == "*" and operand_before)
            and not (_is_function(toks, i) and text not in _KIND_TESTS))
        if text == "[":  # a predicate of a filter expression (``$v[…]``, ``(…)[…]``)
            close = _skip_brackets(toks, i)
            ranges += _paths(toks, i + 1, close - 1, _FILTER)
            i = close
            continue
        if not starts_path:
            i += 1
            continue
        j = min(_path_end(toks, i), high)
        ranges.append((i, j, owner))
        k = i
        while k < j:  # the predicates' own paths
            if toks[k][1] == "[":
                close = _skip_brackets(toks, k)
                ranges += _paths(toks, k + 1, close - 1, (i, k))
                k = close
            else:
                k += 1
        i = max(j, i + 1)
    return ranges


def _with_contexts(toks, context: set[str]) -> list[tuple[int, int, set[str]]]:
    """`_paths` with the names of each path's context node: `context` for the expression's own paths,
    for a predicate's paths the names of the node its owner's steps select (``cda:value[. = 'x']``: a
    ``value``), conservatively any element when the owner starts from a variable or a call."""
    found, contexts = [], {}
    for start, end, owner in _paths(toks):
        if owner is None:
            here = context
        elif owner == _FILTER:
            here = {"*", "/"}  # a predicate of a variable, a call or a parenthesised expression
        else:
            owner_start, bracket = owner
            steps = _steps_outside_predicates(toks[owner_start:bracket])
            outer = contexts.get(owner_start, context)
            here = _names_of(steps, outer, _continued(toks, owner_start)) if steps else {"*"}
        contexts.setdefault(start, here)
        found.append((start, end, here))
    return found


_FILTER = ("filter",)
_KIND_TESTS = {"text", "node", "comment", "element", "attribute", "processing-instruction", "document-node"}


def _is_function(toks, i) -> bool:
    """A call: a name, not an operator word (``or (…)``), before ``(``."""
    name = toks[i][0] == "name" and toks[i][1] not in _WORD_OPERATORS
    return name and i + 1 < len(toks) and toks[i + 1][1] == "("


def _ends_operand(token) -> bool:
    kind, text = token
    if kind == "name" and text in _WORD_OPERATORS:
        return False
    return kind in ("string", "number", "var", "name") or text in (")", "]", ".", "..")


def _path_end(toks, i) -> int:
    """The index after the path that starts at `i` (steps, separators and predicates)."""
    j, expect_step = i, True
    while j < len(toks):
        kind, text = toks[j]
        if text in ("/", "//"):
            j, expect_step = j + 1, True
        elif expect_step and (kind == "axis" or text == "@"):
            j += 1
        elif expect_step and (text in (".", "..") or kind == "name"):
            if _is_function(toks, j):
                if text not in _KIND_TESTS:
                    break
                j = _skip_brackets(toks, j + 1)
            else:
                j += 1
            expect_step = False
        elif not expect_step and text == "[":
            j = _skip_brackets(toks, j)
        else:
            break
    return j


def _skip_brackets(toks, j) -> int:
    """The index after the bracket or parenthesis group opened at `j`."""
    depth = 0
    while j < len(toks):
        depth += (toks[j][1] in ("[", "(")) - (toks[j][1] in ("]", ")"))
        j += 1
        if depth == 0:
            break
    return j


def _steps_outside_predicates(steps) -> list[tuple[str, str]]:
    kept, depth = [], 0
    for token in steps:
        if token[1] in ("[", "("):
            depth += 1
        elif token[1] in ("]", ")"):
            depth -= 1
        elif depth == 0:
            kept.append(token)
    return kept


def _may_reach(steps, names: set[str], context: set[str], continued: bool = False) -> bool:
    """Whether the path's last step may select the embedded value, its text node or an ancestor of it.
    `context`: the local names the context node may have (``*`` any element, ``/`` the document node);
    `continued`: the path follows a variable or a call (``$x/…``), so its first ``/`` is not the root."""
    flat = _steps_outside_predicates(steps)
    if not flat:
        return False
    kind, last = flat[-1]
    before = flat[:-1]
    if last in ("/", "//") and len(flat) > 1:
        return False  # the path goes on with a parenthesised step, whose paths are judged on their own
    if last in ("/", "//", ".."):
        return True  # the document node, the parent (possibly the media or any ancestor)
    if before and before[-1][1] in ("@", "attribute::"):
        return False  # an attribute
    if kind == "axis":
        return True  # a dangling axis: not understood, listed
    axis = before[-1][1] if before and before[-1][0] == "axis" else "child::"
    if axis in ("ancestor::", "ancestor-or-self::", "parent::", "preceding::", "following::"):
        return True
    parent_steps = before[:-1] if before and before[-1][0] == "axis" else before
    descendant = axis.startswith("descendant") or bool(parent_steps and parent_steps[-1][1] == "//")
    parent = _names_of(parent_steps, context, continued)
    holders = names | {"value", "*", "/"}
    local = last.rpartition(":")[2]
    if last == ".":
        return bool(parent & holders)
    if axis == "self::":
        return bool(parent & holders) and last.rpartition(":")[2] in holders | {"node"}
    if descendant:
        return bool(parent & holders) if local == "text" else local in holders | {"node"}
    if local == "text":
        return bool(parent & {"value", "*"})
    if local == "value":
        return bool(parent & {"observationMedia", "*"})
    return local in names | {"*", "node"}


def _names_of(steps, context: set[str], continued: bool) -> set[str]:
    """The local names the node selected by `steps` (a path's steps, predicates removed; it may end with a
    separator: then the node the next step starts from) may have."""
    if not steps:
        return context
    kind, text = steps[-1]
    if text == "/":
        if len(steps) == 1:
            return {"*"} if continued else {"/"}
        return _names_of(steps[:-1], context, continued)
    if text == ".":
        return _names_of(steps[:-1], context, continued)
    if text in ("//", "..", "node") or kind == "axis":
        return {"*", "/"}
    if len(steps) > 1 and steps[-2][0] == "axis" and steps[-2][1] != "child::":
        return {"*", "/"}
    local = text.rpartition(":")[2]
    if local == "value" and not _names_of(steps[:-1], context, continued) & {"observationMedia", "*"}:
        return {"value-elsewhere"}  # an observation's value, not the embedded one
    return {local}


def context_names(context: str) -> set[str]:
    """The local names a rule context's node may have (``*``: any element; ``/``: the document node)."""
    toks = tokens(context)
    if toks is None:
        return {"*"}
    found: set[str] = set()
    for start, end, owner in _paths(toks):
        if owner is not None or (end < len(toks) and toks[end][1] != "|"):
            continue  # a path inside a predicate, or not a whole alternative: not understood
        flat = _steps_outside_predicates(toks[start:end])
        found |= _names_of(flat, {"*"}, False) if flat else set()
    return found or {"*"}


def _only_tested(toks, start: int, end: int) -> bool:
    """Whether the path at ``toks[start:end]`` is only counted or tested for existence: the direct
    argument of a function of `_NOT_READING` or of ``if``, or a whole test, predicate or ``and``/``or``
    operand (its effective boolean value)."""
    before = toks[start - 1][1] if start > 0 else None
    after = toks[end][1] if end < len(toks) else None
    if before == "(" and after == ")" and start > 1 and _is_function(toks, start - 2):
        return toks[start - 2][1] in _NOT_READING or toks[start - 2][1] == "if"
    group = before == "(" and (start < 2 or not _is_function(toks, start - 2))
    left = before in (None, "[", "and", "or") or (group and after in ("and", "or"))
    right = after in (None, "]", "and", "or", "then") or (after == ")" and before in ("and", "or"))
    return left and right


def audit_schema(path: Path, names: set[str], phase: str = "#ALL") -> list[Read]:
    """Every expression of the pack at `path` that may read the embedded value's text (module doc)."""
    schema = load_schema(path, phase)
    pack = path.name
    found: list[Read] = []
    lets = [("let $" + let.name, let) for let in schema.lets]
    lets += [("let $" + let.name, let) for pattern in schema.patterns for let in pattern.lets]
    for where, let in lets:  # global variables: evaluated on the document node
        found += _reads(pack, where, "let", let.value, names, {"/"})
    items = [item for pattern in schema.patterns for rule in pattern.rules for item in rule.items]
    rule_lets = [item for item in items if isinstance(item, Let)]
    for let in [*(let for _, let in lets), *rule_lets]:
        if let.value is None:  # XSLT content instead of an expression: not read here, listed
            found.append(Read(pack, "let $" + let.name, "let", "(element content)", "(not read)"))
    for declaration in schema.xslt_declarations:  # an xsl:function or xsl:key: not read here, listed
        found.append(Read(pack, "schema", "xslt", etree.QName(declaration).localname, "(not read)"))
    for pattern in schema.patterns:
        for rule in pattern.rules:
            where, context = f"rule {rule.context}", context_names(rule.context)
            for item in rule.items:
                if isinstance(item, Let):
                    found += _reads(pack, where, "let", item.value, names, context)
                    continue
                found += _reads(pack, where, item.kind, item.test, names, context)
                for element in item.element.iter():
                    if not isinstance(element.tag, str):
                        continue
                    local = etree.QName(element).localname
                    if local == "value-of":  # <name path=…/> gives a node's name: never its text
                        found += _reads(pack, where, local, element.get("select"), names, context)
    return found


def _reads(pack, where, kind, expression, names, context) -> list[Read]:
    """A let's or a value-of's whole value is read (a let's variable may be compared later: listed
    unless the path is only counted); an assert's or a report's test is judged path by path."""
    if not expression:
        return []
    toks = tokens(expression)
    if toks is None:
        return [Read(pack, where, kind, expression, "(not tokenised)")]
    reached = []
    for start, end, here in _with_contexts(toks, context):
        if not _may_reach(toks[start:end], names, here, _continued(toks, start)):
            continue
        tested = _only_as_argument(toks, start, end) if kind in ("let", "value-of") else _only_tested(
            toks, start, end)
        if not tested:
            reached.append(" ".join(text for _, text in toks[start:end]))
    return [Read(pack, where, kind, expression, path) for path in reached]


def _continued(toks, start: int) -> bool:
    """Whether the path at `start` follows a variable or a call (``$x/a``, ``f()/a``)."""
    if start == 0 or toks[start][1] not in ("/", "//"):
        return False
    return toks[start - 1][0] == "var" or toks[start - 1][1] == ")"


def _only_as_argument(toks, start, end) -> bool:
    """In a let or value-of: the path is the direct argument of a counting/existence function."""
    before = toks[start - 1][1] if start > 0 else None
    after = toks[end][1] if end < len(toks) else None
    return before == "(" and after == ")" and start > 1 and toks[start - 2][1] in _NOT_READING


def pack_paths(cda_root: Path) -> list[Path]:
    """The packs the validator may run: every volet pack, the common pack and structurationMinimale."""
    profiles = cda_root / "schematrons/profils"
    volets = sorted((cda_root / "schematrons").glob("CI-SIS_*.sch"))
    return [*volets, profiles / "CI-SIS_ModelesDeContenusCDA.sch",
            profiles / "structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch"]


def audit(cda_root: Path) -> tuple[dict[str, list[Read]], dict[str, str]]:
    """``({pack: reads}, {pack: why it did not load})`` over `pack_paths`."""
    names = ancestor_names(cda_root / "infrastructure/cda")
    reads, failed = {}, {}
    for path in pack_paths(cda_root):
        try:
            reads[path.name] = audit_schema(path, names)
        except Exception as error:  # a pack that does not load never runs (BIO-CR-BIO_2023.01)
            failed[path.name] = f"{type(error).__name__}: {error}"[:200]
    return reads, failed


if __name__ == "__main__":  # python -m segur.validators.schematron.audit ../shared/ref/cda
    import sys

    found, not_loaded = audit(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/ref/cda"))
    for pack_name, pack_reads in found.items():
        for one in pack_reads:
            print(f"{pack_name}\t{one.where}\t{one.kind}\t{one.path}\t{one.expression}")
    print(f"{sum(map(len, found.values()))} reads in {len(found)} packs; not loaded: {not_loaded}",
          file=sys.stderr)
