"""Just enough XPath lexing for the fast compiler's rewrites, each proven safe by construction.

* `split_top`: split an expression on a separator outside string literals, brackets and parens;
* `templateid_guard`: recognise rule contexts of the form ``*[p:templateId/@root = 'X' and …]``
  (the CI-SIS packs' way to select an entry/section by template), whose context node must have
  a ``p:templateId`` child with that root;
* `rewrite_doc_calls`: route ``doc(…)``/``document(…)`` calls through functions that return the
  value-set documents parsed once per process (falling back to the real call, so a missing
  file still raises the same error at the same place).
"""

from __future__ import annotations

import re


def split_top(expr: str, sep: str) -> list[str]:
    """Split ``expr`` on ``sep`` where it occurs outside quotes, () and []."""
    parts: list[str] = []
    depth, quote, cur, i = 0, None, [], 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            i += 1
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if depth == 0 and expr.startswith(sep, i):
            parts.append("".join(cur))
            cur = []
            i += len(sep)
            continue
        cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


_GUARD = re.compile(r"""^\s*([A-Za-z_][\w.-]*):templateId\s*/\s*@root\s*=\s*("[^"]*"|'[^']*')\s*$""")
_STEP_PRED = re.compile(r"^\*\s*\[(.*)\]$", re.S)


def templateid_guard(context: str) -> list[tuple[str, str, str]] | None:
    """For a context whose every ``|`` alternative is ``*[G and REST]`` or ``*[G]`` with
    ``G`` = ``p:templateId/@root = 'literal'``, return ``[(prefix, literal, predicate)]`` (one per
    alternative); else None.

    Then a node matches the context iff it is an element with a ``p:templateId`` child whose
    root is ``literal`` and ``self::*[predicate]`` is true: the predicate is a boolean (an
    ``and``-chain), never positional, so its value does not depend on the sibling position the
    pattern would give it (``position()``/``last()`` are refused to be sure).
    """
    out = []
    for alt in split_top(context, "|"):
        alt = alt.strip()
        m = _STEP_PRED.match(alt)
        if not m:
            return None
        pred = m.group(1)
        # exactly one predicate, balanced: "*[a][b]" splits on "][" at top level of alt[1:]
        if split_top(alt[1:].strip(), "][") != [alt[1:].strip()]:
            return None
        if "position()" in pred or "last()" in pred:
            return None
        if re.search(r"\bor\b", " ".join(_top_level_texts(pred))):
            return None  # "G and X or Y" is not guarded
        first = split_top(pred, " and ")[0]
        g = _GUARD.match(first)
        if not g:
            return None
        out.append((g.group(1), g.group(2)[1:-1], pred))
    return out


def _top_level_texts(expr: str) -> list[str]:
    """The pieces of ``expr`` at bracket/paren depth 0, outside literals."""
    pieces, depth, quote, cur = [], 0, None, []
    for ch in expr:
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
            continue
        if ch in "([":
            if depth == 0:
                pieces.append("".join(cur))
                cur = []
            depth += 1
            continue
        if ch in ")]":
            depth -= 1
            continue
        if depth == 0:
            cur.append(ch)
    pieces.append("".join(cur))
    return pieces


_CALL = re.compile(r"(?<![\w.:$-])(document|doc)(\s*\()")


def rewrite_doc_calls(expr: str) -> str:
    """Replace unprefixed ``doc(`` and ``document(`` calls (outside string literals) by
    ``sgr:doc(`` / ``sgr:document(``."""
    if "doc" not in expr:
        return expr
    out, quote, start = [], None, 0
    i = 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            if ch == quote:
                quote = None
                out.append(expr[start : i + 1])
                start = i + 1
            i += 1
            continue
        if ch in "\"'":
            out.append(_CALL.sub(r"sgr:\1\2", expr[start:i]))
            start = i
            quote = ch
        i += 1
    tail = expr[start:]
    out.append(tail if quote else _CALL.sub(r"sgr:\1\2", tail))
    return "".join(out)

