"""What the Schematron placeholder tests share (test_schematron_body.py for N1 bodies,
test_schematron_body_n3.py for N3 embedded media): two validators, one handing the packs the placeholder
view and one the full document, and the comparison of their Schematron findings."""

from __future__ import annotations

from pathlib import Path

from segur.validators.api import Validator


def outcome(report) -> list[tuple]:
    """The Schematron findings of a report, as the comparison sees them."""
    return [(f.rule, f.severity, f.line, f.column, f.xpath, f.message) for f in report.findings
            if f.layer == "schematron"]


def light_and_full(cda_pack: Path, cache: Path) -> dict[bool, Validator]:
    """{schematron_full_body: validator} for False (the placeholder view) and True (the full document)."""
    return {full: Validator(pack=cda_pack, layers=("xml", "structure", "schematron"), cache_dir=cache,
                            schematron_full_body=full) for full in (False, True)}


def same_findings(validators, data: bytes, profile: str | None = None) -> list[tuple]:
    """The findings of both validators on `data`, asserted identical (the same packs, the same findings)."""
    light, full = (validators[f].validate(data, profile=profile) for f in (False, True))
    assert [p.name for p in light.packs] == [p.name for p in full.packs]
    assert outcome(light) == outcome(full)
    return outcome(light)
