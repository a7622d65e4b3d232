"""A finding explained by the rule catalogue (`segur.kernel.rules`): its REM ids, source and hint.

The catalogue is filled by the modules that declare rules. Most are imported with their service; two areas
load theirs only when they first check something (the DMP's rules, the validator's Ségur rules), so the
console loads them when its app is made: a console started alone explains every rule id from its first page.
"""

from __future__ import annotations

import segur.mocks.dmp.rules  # noqa: F401 — the DMP's RuleBook (its declarations, not its state)
from segur.kernel import rules


def load_catalogue() -> None:
    """Declare the validator's Ségur rules (imported here: ~65 ms of start-up, measured with -X importtime,
    that `segur --help` would pay on every run, as it imports every service's module)."""
    # start-up: imported when the console first explains a finding, not by every `segur` command
    import segur.validators.segur_rules  # noqa: F401


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
