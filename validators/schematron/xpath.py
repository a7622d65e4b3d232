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


def _depths(expr: str, start: int = 0):
    """Yield ``(index, depth)`` for each character of ``expr`` from ``start`` that stands outside a
    string literal, ``depth`` counting the () and [] open once that character is read; characters
    inside a literal are skipped (``''`` inside a literal closes and reopens it: same effect)."""
    depth, quote = 0, None
    for i in range(start, len(expr)):
        ch = expr[i]
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        yield i, depth


def split_top(expr: str, sep: str) -> list[str]:
    """Split ``expr`` on ``sep`` where it occurs outside quotes, () and []."""
    parts: list[str] = []
    begin, skip_to = 0, 0
    for i, depth in _depths(expr):
        if i < skip_to or depth != 0 or not expr.startswith(sep, i):
            continue
        parts.append(expr[begin:i])
        begin = skip_to = i + len(sep)
    parts.append(expr[begin:])
    return parts


_GUARD = re.compile(r"""^\s*([A-Za-z_][\w.-]*):templateId\s*/\s*@root\s*=\s*("[^"]*"|'[^']*')\s*$""")


def closing_bracket(expr: str, start: int) -> int | None:
    """The index of the bracket closing the ``[`` or ``(`` at ``start`` (string literals, nested
    brackets and parens skipped), or None when it is never closed."""
    for i, depth in _depths(expr, start):
        if depth == 0 and expr[i] in ")]":
            return i
    return None


def single_star_step_predicate(alt: str) -> str | None:
    """The predicate of a context that is exactly one step ``*[predicate]``, else None.

    ``*[A]/cda:component/cda:observation[B]`` is three steps and selects the observation, not the
    element carrying ``A``: taking ``A]/…[B`` for one predicate (a greedy regular expression did)
    ran such rules on the wrong element (issue 12, OPH-BRE). The ``[`` after ``*`` must close at
    the very end, after literals (which may hold ``/`` or ``]``) and nested brackets are skipped.
    """
    alt = alt.strip()
    if not alt.startswith("*"):
        return None
    rest = alt[1:].lstrip()
    if not rest.startswith("["):
        return None
    end = closing_bracket(rest, 0)
    if end is None or end != len(rest) - 1:
        return None
    return rest[1:end]


def templateid_guard(context: str) -> list[tuple[str, str, str]] | None:
    """For a context whose every ``|`` alternative is one step ``*[G and REST]`` or ``*[G]`` with
    ``G`` = ``p:templateId/@root = 'literal'``, return ``[(prefix, literal, predicate)]`` (one per
    alternative); else None (multi-step contexts, ``//``, several predicates, attribute steps
    stay ordinary match patterns evaluated by Saxon).

    Then a node matches the context iff it is an element with a ``p:templateId`` child whose
    root is ``literal`` and ``self::*[predicate]`` is true: the predicate is a boolean (an
    ``and``-chain), never positional, so its value does not depend on the sibling position the
    pattern would give it (``position()``/``last()`` are refused to be sure).
    """
    out = []
    for alt in split_top(context, "|"):
        pred = single_star_step_predicate(alt)
        if pred is None:
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

