"""A finding explained by the rule catalogue (`segur.kernel.rules`): its REM ids, source and hint."""

from __future__ import annotations

from segur.kernel import rules


def explain(finding: dict) -> dict:
    """The finding with `rem`, `source` and `hint` from its rule when the catalogue knows it."""
    try:
        rule = rules.get(str(finding.get("rule")))
    except KeyError:
        return {**finding, "rem": [], "source": "", "catalogued": False}
    return {**finding, "rem": list(rule.rem), "source": rule.source, "hint": finding.get("hint") or rule.hint,
            "catalogued": True}


def explain_all(findings) -> list[dict]:
    return [explain(f if isinstance(f, dict) else f.to_dict()) for f in findings or []]
