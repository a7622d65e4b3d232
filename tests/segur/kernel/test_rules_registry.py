"""Rules are declared once and fire as findings carrying their id, message and hint."""

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.kernel import rules
from segur.kernel.findings import Finding, Severity


def test_a_rule_fires_as_a_finding_with_its_message_filled():
    rule = rules.Rule("TEST-001", "segur", "INS {value} has a wrong key", hint="use key {key}")
    finding = rule.finding(value="123", key="45", line=3, xpath="/a")
    assert finding.rule == "TEST-001"
    assert finding.message == "INS 123 has a wrong key"
    assert finding.hint == "use key 45"
    assert (finding.line, finding.xpath, finding.severity) == (3, "/a", Severity.ERROR)


def test_finding_round_trips_through_dict():
    finding = Finding("R", Severity.WARNING, "xsd", "m", line=1, column=2)
    assert Finding.from_dict(finding.to_dict()) == finding


def test_declaring_one_id_twice_with_different_content_is_refused():
    rules.register(rules.Rule("TEST-DUP", "segur", "one"))
    rules.register(rules.Rule("TEST-DUP", "segur", "one"))  # same content: fine
    with pytest.raises(ValueError):
        rules.register(rules.Rule("TEST-DUP", "segur", "two"))


def test_segur_rules_lists_a_layer_and_refuses_an_unknown_one_naming_the_known():
    """A mistyped `--layer` once printed nothing and exited 0, as if the layer had no rules."""
    listed = CliRunner().invoke(app, ["rules", "--layer", "insi"])
    assert listed.exit_code == 0 and "INSI-ACCESS-LEVEL" in listed.output
    refused = CliRunner().invoke(app, ["rules", "--layer", "nope"], terminal_width=200)
    assert refused.exit_code == 2
    assert "unknown layer 'nope'; known:" in refused.output and "insi" in refused.output


def test_segur_rules_refuses_a_language_it_has_no_messages_in():
    refused = CliRunner().invoke(app, ["rules", "--lang", "de"], terminal_width=200)
    assert refused.exit_code == 2 and "unknown language 'de'" in refused.output
