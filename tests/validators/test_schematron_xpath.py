"""The fast compiler's context rewrite (`templateid_guard`) accepts only one-step contexts
``*[p:templateId/@root='X' and …]``: every other shape stays an ordinary XSLT match pattern.

A context taken for one step when it has several made the fast mode run a rule on the wrong
element (issue 12: OPH-BRE's ``*[…]/cda:component/cda:observation[…]`` ran on the organizer).
"""

from __future__ import annotations

import pytest

from segur.validators.schematron.compiler import context_may_match_attributes
from segur.validators.schematron.xpath import closing_bracket, single_star_step_predicate, templateid_guard

G = "cda:templateId/@root='1.2.3'"
GA = f"{G} and cda:id"  # the first predicate an and-chain: the shape the old greedy parse took


@pytest.mark.parametrize(
    "context",
    [
        f"*[{GA}]/cda:component/cda:observation[cda:code/@code='X']",  # the OPH-BRE shape
        f"*[{GA} and (cda:code/@code='A' or cda:code/@code='B')]/cda:component/cda:observation[{G}]",
        f"*[{GA}]/cda:entry/cda:organizer/cda:templateId",
        f"*[{GA}]//*[cda:templateId[@root='4.5']]",  # descendant step
        f"*[{GA}]//cda:observation[{G}]",
        f"*[{GA}]/@code",  # attribute step
        f"*[{GA}]/cda:participant[@typeCode='COV']",
        f"*[{GA}][cda:code]",  # two predicates
        f"*[{GA}] | cda:section",  # one alternative is not guarded
        f"cda:section | *[{G}]/cda:entry",
        f"//*[{G}]",
        f"/*[{G}]",
        f"cda:section[{G}]",
        "*:section[*:templateId/@root='1.2.3']/*:entry",
        f"*[{GA} and cda:code/@code='a]/b']/cda:entry",  # literal with ] and / before a real step
        f"*[{G} or cda:code]",  # not an and-chain
        f"*[{G} and position() = 1]",  # positional
        f"*[{G}",  # unbalanced
    ],
)
def test_multi_step_and_other_shapes_are_not_dispatched(context):
    assert templateid_guard(context) is None


@pytest.mark.parametrize(
    "context, expected",
    [
        (f"*[{G}]", [("cda", "1.2.3", G)]),
        ("*[ hl7:templateId / @root = \"9.9\" ]", [("hl7", "9.9", ' hl7:templateId / @root = "9.9" ')]),
        (
            f"*[{G} and cda:code[@code='a]/b' and @codeSystem=\"x[/\"]]",
            [("cda", "1.2.3", f"{G} and cda:code[@code='a]/b' and @codeSystem=\"x[/\"]")],
        ),
        (
            f"*[{G} and (cda:code/@code='A' or cda:code/@code='B')]",
            [("cda", "1.2.3", f"{G} and (cda:code/@code='A' or cda:code/@code='B')")],
        ),
        (f"*[{G} and cda:entry/cda:act[cda:id]]", [("cda", "1.2.3", f"{G} and cda:entry/cda:act[cda:id]")]),
        (f"*[{G} and cda:code/@code='it''s']", [("cda", "1.2.3", f"{G} and cda:code/@code='it''s'")]),
        (
            f"*[{G}] | *[cda:templateId/@root='4.5' and cda:id]",
            [("cda", "1.2.3", G), ("cda", "4.5", "cda:templateId/@root='4.5' and cda:id")],
        ),
    ],
)
def test_one_step_guarded_contexts_are_dispatched_with_their_whole_predicate(context, expected):
    assert templateid_guard(context) == expected


@pytest.mark.parametrize(
    "expr, start, end",
    [
        ("[a]", 0, 2),
        ("[a[b]c]/d[e]", 0, 6),
        ("[@x=']'][y]", 0, 7),
        ('[@x="/]["]', 0, 9),
        ("[f(a, ']')]", 0, 10),
        ("[a", 0, None),
    ],
)
def test_closing_bracket_skips_literals_and_nesting(expr, start, end):
    assert closing_bracket(expr, start) == end


def test_single_star_step_predicate_needs_the_bracket_to_close_at_the_end():
    assert single_star_step_predicate(" * [a/b] ") == "a/b"
    assert single_star_step_predicate("*[a]/b[c]") is None
    assert single_star_step_predicate("*") is None


@pytest.mark.parametrize(
    "context, may_match",
    [
        ("cda:observation/@code", True),
        ("*[cda:templateId/@root='1.2']/@moodCode", True),
        ("//@xsi:type", True),
        ("cda:value/attribute::unit", True),
        ("cda:a | cda:b/@c", True),
        ("cda:code[@code='a/@b' and @codeSystem]", False),  # '@' and '/' only inside a predicate
        ("*[cda:templateId/@root='1.2']/cda:entry[@typeCode='COMP']", False),
        ("cda:section[cda:code/@code='x']//cda:observation", False),
    ],
)
def test_attribute_contexts_are_detected_on_the_last_step_only(context, may_match):
    """The fast traversal visits attributes only when some context can end on one (ISO semantics)."""
    assert context_may_match_attributes(context) is may_match
