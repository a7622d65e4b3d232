"""What the check tests of one pytest session judged: one `CheckResult` per check, recorded by the plugin's
`segur_check` fixture as each test runs.

`segur proof` builds the evidence pack from this object: each check is judged once per run, by its test, and
the pack shows that very result (never a second judgement that could disagree with the test's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segur.scenarios.checks import CheckResult


@dataclass
class ProofResults:
    """Check id → the result its test recorded (in the order the tests ran)."""

    checks: dict[str, CheckResult] = field(default_factory=dict)

    def record(self, check_id: str, result: CheckResult) -> None:
        self.checks[check_id] = result

    def __contains__(self, check_id: str) -> bool:
        return check_id in self.checks

    def get(self, check_id: str) -> CheckResult | None:
        return self.checks.get(check_id)
