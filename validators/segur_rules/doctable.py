"""The rule table of docs/segur-rules.md, generated from the catalogue so that the two agree.

    python -m segur.validators.segur_rules.doctable > /tmp/table.md
"""

from __future__ import annotations

from segur.validators.segur_rules.catalogue import RULES


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rules_table() -> str:
    lines = ["| id | severity | what is checked | why (message) | fix | source | REM |",
             "|---|---|---|---|---|---|---|"]
    for rule in RULES:
        lines.append(f"| `{rule.id}` | {rule.severity.value} | {_cell(rule.extra.get('what', ''))} | "
                     f"{_cell(rule.message_en)} | {_cell(rule.hint)} | {_cell(rule.source)} | "
                     f"{', '.join(rule.rem)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(rules_table(), end="")
