"""The catalogue of the project's own rules: a stable id, a plain message, a fix hint.

Every check a mock or the validator applies is declared once here (by the module that owns it)
and referred to by id everywhere else, so `segur rules` can list them all and the evidence
report can explain any id it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segur.kernel.findings import Finding, Severity


@dataclass(frozen=True)
class Rule:
    """A check with a stable id. Messages may hold ``{placeholders}`` filled when it fires."""

    id: str
    layer: str
    message_en: str
    message_fr: str = ""
    hint: str = ""
    severity: Severity = Severity.ERROR
    rem: tuple[str, ...] = ()  # REM requirement ids this rule helps prove
    source: str = ""  # the specification the rule comes from
    extra: dict = field(default_factory=dict)

    def finding(self, severity: Severity | None = None, **context) -> Finding:
        """Build a `Finding` for this rule; location keywords go to the finding, the rest fill the message."""
        where = {k: context.pop(k) for k in ("line", "column", "xpath", "location") if k in context}
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            layer=self.layer,
            message=_fill(self.message_en, context),
            hint=_fill(self.hint, context) or None,
            **where,
        )

    def message(self, lang: str = "en", **context) -> str:
        text = self.message_fr if lang == "fr" and self.message_fr else self.message_en
        return _fill(text, context)


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: str, context: dict) -> str:
    return text.format_map(_Defaults(context)) if text else text


_REGISTRY: dict[str, Rule] = {}


def register(*rules: Rule) -> None:
    """Declare rules; an id declared twice with different content is a programming error."""
    for rule in rules:
        known = _REGISTRY.get(rule.id)
        if known is not None and known != rule:
            raise ValueError(f"rule id {rule.id!r} declared twice with different content")
        _REGISTRY[rule.id] = rule


def get(rule_id: str) -> Rule:
    return _REGISTRY[rule_id]


def all_rules() -> list[Rule]:
    return sorted(_REGISTRY.values(), key=lambda r: r.id)
