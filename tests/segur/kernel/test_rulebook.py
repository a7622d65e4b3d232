"""One way to declare a rule (a RuleBook) and one way to raise it (`rule.finding`)."""

from __future__ import annotations

import pytest

from segur.kernel import rules
from segur.kernel.findings import Severity
from segur.kernel.rules import RuleBook


def test_a_rule_declared_in_a_book_is_in_the_catalogue_with_the_book_defaults():
    book = RuleBook("kernel-test", source="the kernel's tests", rem=("SC.TEST/1",))
    rule = book.rule("KTEST-001", "The {thing} is missing.", hint="Add the {thing}.", blocking=True)
    assert rules.get("KTEST-001") is rule
    assert (rule.layer, rule.source, rule.rem, rule.blocking) == ("kernel-test", "the kernel's tests",
                                                                  ("SC.TEST/1",), True)
    finding = rule.finding(thing="INS", xpath="/a")
    assert (finding.rule, finding.severity, finding.message, finding.hint, finding.xpath) == (
        "KTEST-001", Severity.ERROR, "The INS is missing.", "Add the INS.", "/a")


def test_a_rule_id_declared_twice_with_other_content_is_refused():
    book = RuleBook("kernel-test")
    book.rule("KTEST-002", "One message.")
    with pytest.raises(ValueError, match="declared twice"):
        book.rule("KTEST-002", "Another message.")


def test_a_finding_of_a_superseded_rule_is_reported_once_by_the_rule_that_says_more():
    book = RuleBook("kernel-test")
    vague = book.rule("KTEST-003", "Something is wrong with the patient.")
    precise = book.rule("KTEST-004", "The patient id is not an INS.", supersedes=(vague,))
    other = book.rule("KTEST-005", "The title is empty.")
    both = [vague.finding(), precise.finding(), other.finding()]
    assert [f.rule for f in book.report_once(both)] == ["KTEST-004", "KTEST-005"]
    assert [f.rule for f in book.report_once([vague.finding()])] == ["KTEST-003"]
