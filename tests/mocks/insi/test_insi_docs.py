"""INSi mock: every rule and every fault of the catalogue is documented and exercised by a test."""

from __future__ import annotations

from pathlib import Path

from segur.mocks.insi.rules import FAULTS, RULES

REPO = Path(__file__).resolve().parents[3]
DOC = (REPO / "docs" / "insi.md").read_text(encoding="utf-8")
TEST_FILES = sorted((REPO / "tests" / "mocks" / "insi").glob("test_insi_*.py"))
TESTS = "".join(p.read_text(encoding="utf-8") for p in TEST_FILES if p.name != "test_insi_docs.py")


def test_every_rule_and_fault_is_in_docs_insi_md():
    assert [r.id for r in RULES if f"`{r.id}`" not in DOC] == []
    assert [key for key in FAULTS if f"`{key}`" not in DOC] == []


def test_every_rule_is_named_by_a_test():
    assert [r.id for r in RULES if r.id not in TESTS] == []


def test_every_refusing_rule_names_a_fault_of_the_catalogue():
    for rule in RULES:
        fault = rule.extra.get("fault")
        assert fault is None or fault in FAULTS, rule.id
    unconfirmed = sorted(k for k, f in FAULTS.items() if not f.confirmed)
    assert unconfirmed == ["access_level", "context_bam", "context_lps", "request_invalid"]
