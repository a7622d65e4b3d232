"""Generate XSLT 3.0 from a loaded `Schema`, in one of two shapes.

``classic`` is the ISO skeleton's shape: one mode per active pattern, each walking the whole
document from ``/``; in each mode one template per rule, priorities descending in document order
(so within a pattern only the first matching rule fires on a node), and a lowest-priority
template that walks on to the child elements. It is the reference the fast shape is tested
against.

``fast`` walks the document once: every rule of every pattern is a template of one mode, with a
unique priority descending in (pattern, rule) order. A rule template runs its checks and then
``xsl:next-match`` so the lower-priority rules matching the same node run too; for patterns with
several rules, a parameter carries the patterns that already fired on the node, so a second rule
of the same pattern is skipped (the ISO rule "one rule per pattern per node" holds). The last
template in the chain applies templates to the child elements. Two exact shortcuts (see
`_Generator._fast`): rules selecting an element by ``templateId/@root`` run from one dispatch per
element that has a templateId, and ``doc()``/``document()`` read value sets parsed once per
process (see runtime), falling back to the real call.

Both shapes evaluate each assert/report identically: inside ``xsl:try``, so a dynamic error
(e.g. ``doc()`` of a missing value-set file) becomes a *pack error* record for that check
instead of aborting the whole run. Results are compact records, not SVRL: ``<f a="check index"
n="element index" l="location">message</f>`` and ``<e … c="error code">description</e>``; the
static facts of each check (pattern, rule, test, role…) stay on the Python side.

Nodes visited: the document node and elements. Attributes are visited too when a rule context
can end on an attribute (ISO semantics); text nodes are never rule contexts (as in the
skeleton). The official CI-SIS packs have no attribute context (`context_may_match_attributes`).
The stylesheets are XSLT 3.0 (the ANS tool ran XSLT 2.0 with Saxon 9): XPath 3.1 is a superset.
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

from lxml import etree

from .loader import Check, Let, Pattern, Rule, S, Schema
from .xpath import rewrite_doc_calls, templateid_guard


def _compiler_version() -> str:
    """A hash of the code that shapes the generated XSLT: any change invalidates the disk cache."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in ("loader.py", "compiler.py", "xpath.py"):
        h.update((here / name).read_bytes())
    return "2-" + h.hexdigest()[:16]


COMPILER_VERSION = _compiler_version()

XSL_NS = "http://www.w3.org/1999/XSL/Transform"
X = f"{{{XSL_NS}}}"
SGR_NS = "urn:segur:schematron:internal"
XS_NS = "http://www.w3.org/2001/XMLSchema"
MAP_NS = "http://www.w3.org/2005/xpath-functions/map"
ERR_NS = "http://www.w3.org/2005/xqt-errors"
BASE_PLACEHOLDER = "urn:segur:schematron:base-placeholder"

MODES = ("fast", "classic")


def _strip_predicates(expr: str) -> str:
    out, depth, quote = [], 0, None
    for ch in expr:
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def context_may_match_attributes(context: str) -> bool:
    """Conservative: True when some alternative's last step could select an attribute."""
    bare = _strip_predicates(context)
    for alt in bare.split("|"):
        last = re.split(r"/", alt.strip())[-1]
        if "@" in last or "attribute" in last or "node()" in last:
            return True
    return False


def _el(parent, tag: str, **attrs) -> etree._Element:
    e = etree.SubElement(parent, X + tag)
    for k, v in attrs.items():
        e.set(k.rstrip("_").replace("__", "-"), v)
    return e


def _function(parent, name: str, as_: str, param: tuple[str, str], select: str) -> None:
    """An `xsl:function` of one parameter whose body is a single XPath expression."""
    f = _el(parent, "function", name=name, as_=as_)
    _el(f, "param", name=param[0], as_=param[1])
    _el(f, "sequence", select=select)


class _Generator:
    def __init__(self, schema: Schema, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown compile mode {mode!r} (expected one of {MODES})")
        self.schema = schema
        self.mode = mode
        self.visit_attributes = any(
            context_may_match_attributes(r.context) for p in schema.patterns for r in p.rules
        )
        prefixes: dict[str, str] = {}
        for prefix, uri in schema.namespaces:
            if prefix and uri and prefix not in prefixes:
                prefixes[prefix] = uri
        self.pack_prefixes = prefixes
        # fast shape only: value-set documents come from a per-process map (see runtime)
        self.q = rewrite_doc_calls if mode == "fast" else (lambda expr: expr)

    # ----------------------------------------------------------------- skeleton
    def build(self) -> etree._Element:
        nsmap = {"xsl": XSL_NS, "sgr": SGR_NS, "sgrxs": XS_NS, "sgrmap": MAP_NS, "sgrerr": ERR_NS}
        for extra, uri in (("xs", XS_NS), ("xsd", XS_NS), ("saxon", "http://saxon.sf.net/")):
            nsmap.setdefault(extra, uri)
        for prefix, uri in self.pack_prefixes.items():
            if prefix not in ("xsl", "sgr", "sgrxs", "sgrmap", "sgrerr"):
                nsmap[prefix] = uri
        root = etree.Element(X + "stylesheet", nsmap=nsmap)
        root.set("version", "3.0")
        root.set("exclude-result-prefixes", "#all")
        root.set("{http://www.w3.org/XML/1998/namespace}base", BASE_PLACEHOLDER)
        _el(root, "output", method="xml", indent="no", encoding="UTF-8")
        self._globals(root)
        self._functions(root)
        for declaration in self.schema.xslt_declarations:  # xsl:key / xsl:function, as the skeleton does
            root.append(copy.deepcopy(declaration))
        top = _el(root, "template", match="/")
        rec = etree.SubElement(top, "r")
        if self.mode == "classic":
            for p in self.schema.patterns:
                _el(rec, "apply-templates", select="/", mode=f"sgr:M{p.index}")
            for p in self.schema.patterns:
                self._classic_pattern(root, p)
        else:
            _el(rec, "apply-templates", select="/", mode="sgr:all")
            self._fast(root)
        return root

    def _children_select(self) -> str:
        return "@*|*" if self.visit_attributes else "*"

    def _globals(self, root) -> None:
        seen: set[str] = set()
        for let in self.schema.lets:
            self._let(root, let, "param")
            seen.add(let.name)
        for p in self.schema.patterns:
            for let in p.lets:
                if let.name in seen:
                    self.schema.warnings.append(f"global let ${let.name} declared twice; the first is kept")
                    continue
                seen.add(let.name)
                self._let(root, let, "variable")

    def _let(self, parent, let: Let, kind: str = "variable") -> None:
        if let.value is not None:
            _el(parent, kind, name=let.name, select=self.q(let.value))
        else:
            v = _el(parent, kind, name=let.name)
            for node in let.content:
                v.append(etree.fromstring(etree.tostring(node)))

    def _functions(self, root) -> None:
        by_uri: dict[str, str] = {}  # first prefix declared for a namespace names it in locations
        for prefix, uri in self.pack_prefixes.items():
            if "'" not in uri:
                by_uri.setdefault(uri, prefix)
        prefixes = ", ".join(f"'{uri}': '{prefix}'" for uri, prefix in by_uri.items())
        _el(root, "variable", name="sgr:prefixes", select=f"map{{{prefixes}}}")
        _function(root, "sgr:qname", "sgrxs:string", ("n", "node()"), (
            "let $u := namespace-uri($n) return if ($u eq '') then local-name($n) else if "
            "(sgrmap:contains($sgr:prefixes, $u)) then concat($sgr:prefixes($u), ':', local-name($n)) "
            "else concat('Q{', $u, '}', local-name($n))"
        ))
        _function(root, "sgr:location", "sgrxs:string", ("n", "node()"), (
            "if ($n instance of document-node()) then '/' else concat("
            "string-join(for $a in $n/ancestor-or-self::* return concat('/', sgr:qname($a), '[', "
            "1 + count($a/preceding-sibling::*[node-name() eq node-name($a)]), ']'), ''), "
            "if ($n instance of attribute()) then concat('/@', sgr:qname($n)) "
            "else if ($n instance of element()) then '' "
            "else concat('/', ($n/self::text()!'text()', $n/self::comment()!'comment()', "
            "'processing-instruction()')[1], '[', 1 + count($n/preceding-sibling::node()), ']'))"
        ))
        # Value-set documents parsed once per process, keyed by absolute URI (set by the runtime).
        _el(root, "param", name="sgr:vs", as_="map(sgrxs:string, document-node())", select="map{}")
        _function(root, "sgr:doc", "document-node()?", ("u", "sgrxs:string?"), (
            "if (empty($u)) then doc($u) else "
            "let $a := resolve-uri($u, static-base-uri()) return "
            "if (sgrmap:contains($sgr:vs, $a)) then $sgr:vs($a) else doc($u)"
        ))
        _function(root, "sgr:document", "node()*", ("arg", "item()*"), (
            "(for $i in $arg return if ($i instance of node()) then document($i) else "
            "let $a := resolve-uri(string($i), static-base-uri()) return "
            "if (sgrmap:contains($sgr:vs, $a)) then $sgr:vs($a) else document(string($i)))/."
        ))
        f = _el(root, "function", name="sgr:document", as_="node()*")
        _el(f, "param", name="arg", as_="item()*")
        _el(f, "param", name="base", as_="node()")
        _el(f, "sequence", select="document($arg, $base)")
        f = _el(root, "function", name="sgr:where", as_="attribute()+")
        _el(f, "param", name="n", as_="node()")
        _el(f, "attribute", name="n", select="sgr:index($n)")
        _el(f, "attribute", name="l", select="sgr:location($n)")
        f = _el(root, "function", name="sgr:error", as_="element()")
        for name in ("a", "n", "c", "d"):
            _el(f, "param", name=name)
        e = etree.SubElement(f, "e", {"a": "{$a}", "c": "{$c}"})
        _el(e, "sequence", select="sgr:where($n)")
        _el(e, "value-of", select="$d")
        _function(root, "sgr:index", "sgrxs:string", ("n", "node()"), (
            "let $e := ($n/ancestor-or-self::*)[last()] return "
            "if (empty($e)) then '' else string(count($e/ancestor::*) + count($e/preceding::*))"
        ))

    # ----------------------------------------------------------------- checks
    def _rule_body(self, parent, rule: Rule) -> None:
        for item in rule.items:
            if isinstance(item, Let):
                self._let(parent, item)
            else:
                self._check(parent, item)

    def _check(self, parent, check: Check) -> None:
        # Kept small on purpose: Saxon's compile time grows with the number of expressions, and
        # the big packs have thousands of checks. Where/what is computed by sgr:where / sgr:error.
        t = _el(parent, "try")
        test = self.q(check.test)
        cond = f"not(({test}))" if check.kind == "assert" else f"({test})"
        i = _el(t, "if", test=cond)
        rec = etree.SubElement(i, "f", {"a": str(check.index)})
        _el(rec, "sequence", select="sgr:where(.)")
        self._message(rec, check.element)
        for diag_id in check.diagnostics:
            diag = self.schema.diagnostics.get(diag_id)
            if diag is not None:
                d = etree.SubElement(rec, "d", {"id": diag_id})
                self._message(d, diag)
        c = _el(t, "catch")
        _el(c, "sequence", select=f"sgr:error({check.index}, ., $sgrerr:code, $sgrerr:description)")

    def _message(self, out, element) -> None:
        """Copy the message content: text, value-of, name; inline markup reduced to its text.
        Whitespace runs in literal text become one space: messages are whitespace-normalised
        when read back, so this changes nothing but the size of the stylesheet."""
        if element.text:
            _el(out, "text").text = _squeeze(element.text)
        for child in element:
            if isinstance(child.tag, str):
                if child.tag == S + "value-of":
                    _el(out, "value-of", select=self.q(child.get("select") or "."))
                elif child.tag == S + "name":
                    path = child.get("path")
                    _el(out, "value-of", select=f"name({self.q(path)})" if path else "name(.)")
                else:  # emph, dir, span, foreign: keep the words
                    self._message(out, child)
            if child.tail:
                _el(out, "text").text = _squeeze(child.tail)

    # ----------------------------------------------------------------- classic shape
    def _classic_pattern(self, root, pattern: Pattern) -> None:
        mode = f"sgr:M{pattern.index}"
        n = len(pattern.rules)
        for j, rule in enumerate(pattern.rules):
            t = _el(root, "template", match=rule.context, mode=mode, priority=str(1000 + n - j))
            self._rule_body(t, rule)
            _el(t, "apply-templates", select=self._children_select(), mode=mode)
        fallback = _el(root, "template", match="document-node()|*|@*", mode=mode, priority="-2")
        _el(fallback, "apply-templates", select=self._children_select(), mode=mode)

    # ----------------------------------------------------------------- fast shape
    def _fast(self, root) -> None:
        # The leading templateId-guarded rules of each pattern (all of them, for 114 of the common
        # pack's 141 patterns) run from one dispatch per element that has a templateId child,
        # instead of being tried as templates on every element. The rest of each pattern stays
        # in the template chain; a pattern split in two is tracked through $sgr:fired.
        dispatched: list[tuple[Pattern, list[Rule], list, bool]] = []
        chained: list[tuple[Pattern, list[Rule]]] = []
        for pattern in self.schema.patterns:
            guards = [templateid_guard(r.context) for r in pattern.rules]
            k = 0
            while k < len(guards) and guards[k]:
                k += 1
            if k:
                dispatched.append((pattern, pattern.rules[:k], guards[:k], k < len(pattern.rules)))
            if k < len(pattern.rules):
                chained.append((pattern, pattern.rules[k:]))
        total = sum(len(rules) for _, rules in chained)
        if dispatched:
            self._dispatch(root, dispatched, priority=total + 2)
        priority = total + 1
        for pattern, rules in chained:
            tracked = len(pattern.rules) > 1  # a one-rule pattern cannot fire twice on a node
            for rule in rules:
                t = _el(root, "template", match=rule.context, mode="sgr:all", priority=str(priority))
                priority -= 1
                _el(t, "param", name="sgr:fired", as_="sgrxs:integer*", select="()")
                if tracked:
                    choose = _el(t, "choose")
                    skip = _el(choose, "when", test=f"$sgr:fired = {pattern.index}")
                    nm = _el(skip, "next-match")
                    _el(nm, "with-param", name="sgr:fired", select="$sgr:fired")
                    body = _el(choose, "otherwise")
                    self._rule_body(body, rule)
                    nm = _el(body, "next-match")
                    _el(nm, "with-param", name="sgr:fired", select=f"($sgr:fired, {pattern.index})")
                else:
                    self._rule_body(t, rule)
                    nm = _el(t, "next-match")
                    _el(nm, "with-param", name="sgr:fired", select="$sgr:fired")
        children = self._children_select()
        fallback = _el(root, "template", match="document-node()|*|@*", mode="sgr:all", priority="-1")
        _el(fallback, "apply-templates", select=children, mode="sgr:all")

    def _dispatch(self, root, dispatched, priority: int) -> None:
        """The first template tried on an element with a templateId child: runs the dispatched
        rules (pattern order; within a pattern the first matching rule wins) and tells the
        chain which split patterns already fired on this element."""
        prefixes = sorted({g[0] for _, _, guards, _ in dispatched for alts in guards for g in alts})
        has_tid = " or ".join(f"{p}:templateId" for p in prefixes)
        t = _el(root, "template", match=f"*[{has_tid}]", mode="sgr:all", priority=str(priority))
        roots = {p: f"sgr:roots-{i}" for i, p in enumerate(prefixes)}
        for prefix, var in roots.items():
            _el(t, "variable", name=var, select=f"{prefix}:templateId/@root/string()")
        fired: list[str] = []
        for pattern, rules, guards, split in dispatched:
            by_prefix: dict[str, list[str]] = {}
            for alts in guards:
                for prefix, literal, _pred in alts:
                    if literal not in by_prefix.setdefault(prefix, []):
                        by_prefix[prefix].append(literal)
            pre = " or ".join(f"${roots[p]} = ({', '.join(map(_xpath_string, lits))})"
                              for p, lits in by_prefix.items())
            tests = [" or ".join(f"exists(self::*[{pred}])" for _p, _l, pred in alts) for alts in guards]
            # A dynamic error while matching a template pattern makes it not match (the classic
            # shape, like the skeleton, only warns): each re-checked predicate gets the same.
            scope = t if split else _el(t, "if", test=pre)
            names = []
            for n, test in enumerate(tests, 1):
                name = f"sgr:t{pattern.index}-{n}"
                names.append(name)
                if split:  # evaluated only when the cheap pre-test passes
                    v = _el(_el(scope, "variable", name=name, as_="sgrxs:boolean?"), "if", test=pre)
                else:
                    v = _el(scope, "variable", name=name, as_="sgrxs:boolean")
                _el(_el(v, "try", select=test), "catch", select="false()")
            choose = _el(scope, "choose")
            for name, rule in zip(names, rules, strict=True):
                self._rule_body(_el(choose, "when", test=f"${name}"), rule)
            if split:
                fired.append(f"(if ({' or '.join('$' + n for n in names)}) then {pattern.index} else ())")
        _el(_el(t, "next-match"), "with-param", name="sgr:fired", select=f"({', '.join(fired)})")


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _xpath_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def generate_xslt(schema: Schema, mode: str = "fast") -> str:
    """The XSLT 3.0 text for ``schema``; its ``xml:base`` is a placeholder set at load time."""
    root = _Generator(schema, mode).build()
    return etree.tostring(root, encoding="unicode")
