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
    blocking: bool = False  # a breach refuses the exchange even in a lenient mock
    supersedes: tuple[Rule, ...] = ()  # rules that say less about the same problem: not reported beside it

    def __hash__(self) -> int:
        return hash(self.id)

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


class RuleBook:
    """The rules of one area (a mock, the validator), declared in its `rules.py` with one call each.

    The book is the one way to declare a rule: `book.rule(...)` builds it with the area's layer and
    default source, registers it in the catalogue `segur rules` lists, and returns the `Rule` the check
    uses by object (`rule.finding(...)` is the one way to raise it).
    """

    def __init__(self, layer: str, *, source: str = "", rem: tuple[str, ...] = ()):
        self.layer = layer
        self.source = source
        self.rem = tuple(rem)
        self._rules: dict[str, Rule] = {}

    def rule(self, id: str, message_en: str, *, message_fr: str = "", hint: str = "",
             severity: Severity = Severity.ERROR, rem: tuple[str, ...] | None = None,
             source: str | None = None, blocking: bool = False, supersedes: tuple[Rule, ...] = (),
             layer: str | None = None, **extra) -> Rule:
        rule = Rule(id=id, layer=layer or self.layer, message_en=message_en, message_fr=message_fr, hint=hint,
                    severity=severity, rem=tuple(self.rem if rem is None else rem),
                    source=self.source if source is None else source, extra=extra, blocking=blocking,
                    supersedes=tuple(supersedes))
        register(rule)
        self._rules[id] = rule
        return rule

    def __iter__(self):
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def report_once(self, findings: list[Finding]) -> list[Finding]:
        """Drop each finding whose rule is superseded by another rule that fired on the same exchange."""
        hidden = {old.id for finding in findings if finding.rule in self._rules
                  for old in self._rules[finding.rule].supersedes}
        return [finding for finding in findings if finding.rule not in hidden]
