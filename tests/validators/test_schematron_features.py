"""ISO Schematron features the official CI-SIS packs use, each on a tiny hand-written pack.

Every behaviour is checked in both compile modes (``fast``: one traversal; ``classic``: one
traversal per pattern, the ISO skeleton's shape), with a document that passes and one that fails.
"""

from __future__ import annotations

import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from segur.validators.schematron import (
    PackCompileError,
    PackLoadError,
    SchematronFailure,
    compile_pack,
    pack_info,
    severity_of,
)

SCH = "http://purl.oclc.org/dsdl/schematron"
MODES = ["fast", "classic"]


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    return path


def schema(body: str, ns: str = '<ns prefix="h" uri="urn:hl7-org:v3"/>', extra: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<schema xmlns="{SCH}" queryBinding="xslt2" {extra}>
  {ns}
  {body}
</schema>"""


DOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <templateId root="1.2.3"/>
  <code code="11502-2" codeSystem="2.16.840.1.113883.6.1" displayName="CR de biologie"/>
  <component><section><templateId root="9.9"/><code code="X1" codeSystem="S"/></section></component>
  <component><section><templateId root="9.9"/><code code="X2" codeSystem="S"/></section></component>
</ClinicalDocument>"""


@pytest.fixture(params=MODES)
def mode(request) -> str:
    return request.param


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def section_rule(body: str) -> str:
    """A pattern P with one rule on the sections holding `body`."""
    return f'<pattern id="P"><rule context="h:section">{body}</rule></pattern>'


def run(path: Path, cache: Path, mode: str, doc: bytes = DOC) -> list[SchematronFailure]:
    return compile_pack(path, cache_dir=cache, mode=mode).run(doc).failures


def test_assert_passes_and_fails_with_message_location_and_node_index(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="P"><rule context="h:section">
                 <assert test="h:code/@code = 'X1'" role="warning">Section <name/> has code
                   <value-of select="h:code/@code"/> (expected X1)</assert>
               </rule></pattern>"""
        ),
    )
    failures = run(sch, cache, mode)
    assert len(failures) == 1
    f = failures[0]
    assert (f.kind, f.pattern_id, f.rule_context, f.role, f.severity) == (
        "assert",
        "P",
        "h:section",
        "warning",
        "warning",
    )
    assert f.message == "Section section has code X2 (expected X1)"
    assert f.location == "/h:ClinicalDocument[1]/h:component[2]/h:section[1]"
    tree = etree.fromstring(DOC)
    element = tree.xpath(f.location, namespaces={"h": "urn:hl7-org:v3"})[0]
    assert list(tree.iter("*")).index(element) == f.node_index
    assert f.assert_id is None and f.test == "h:code/@code = 'X1'"


def test_report_fires_when_its_test_is_true(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="P"><rule context="h:ClinicalDocument">
                 <report id="r1" test="count(h:component) = 2" role="info">two components</report>
                 <report id="r2" test="count(h:component) = 3">three components</report>
               </rule></pattern>"""
        ),
    )
    failures = run(sch, cache, mode)
    assert [(f.kind, f.assert_id, f.severity, f.message) for f in failures] == [
        ("report", "r1", "info", "two components")
    ]


def test_only_the_first_matching_rule_of_a_pattern_fires_on_a_node(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="P">
                 <rule context="h:section[h:code/@code='X1']"><assert test="false()">specific</assert></rule>
                 <rule context="h:section"><assert test="false()">generic</assert></rule>
               </pattern>
               <pattern id="Q">
                 <rule context="h:section"><assert test="false()">other pattern</assert></rule>
               </pattern>"""
        ),
    )
    got = [(f.pattern_id, f.message, f.location.split("/", 2)[2]) for f in run(sch, cache, mode)]
    # pattern order first, then document order: as the ISO skeleton reports it
    assert got == [
        ("P", "specific", "h:component[1]/h:section[1]"),
        ("P", "generic", "h:component[2]/h:section[1]"),
        ("Q", "other pattern", "h:component[1]/h:section[1]"),
        ("Q", "other pattern", "h:component[2]/h:section[1]"),
    ]


def test_templateid_rules_follow_first_match_too(tmp_path, cache, mode):
    """The fast mode dispatches templateId-guarded patterns separately: same semantics."""
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="T">
                 <rule context="*[h:templateId/@root='9.9' and h:code/@code='X2']">
                   <assert test="false()">X2 section</assert></rule>
                 <rule context="*[h:templateId/@root = &quot;9.9&quot;]">
                   <assert test="false()">any 9.9</assert></rule>
                 <rule context="*[h:templateId/@root='1.2.3']">
                   <assert test="h:code/@code='00000-0'">doc</assert></rule>
               </pattern>"""
        ),
    )
    got = [(f.message, f.node_index) for f in run(sch, cache, mode)]
    assert got == [("doc", 0), ("any 9.9", 4), ("X2 section", 8)]


def test_include_resolves_relative_to_the_including_file(tmp_path, cache, mode):
    write(
        tmp_path,
        "inc/sub/rule.sch",
        f'<rule xmlns="{SCH}" context="h:code">'
        '<assert test="@codeSystem">code without system</assert></rule>',
    )
    write(
        tmp_path,
        "inc/pattern.sch",
        f"""<pattern xmlns="{SCH}" id="Inc"><include href="sub/rule.sch"/></pattern>""",
    )
    sch = write(tmp_path, "p.sch", schema('<include href="inc/pattern.sch"/>'))
    assert run(sch, cache, mode) == []
    bad = DOC.replace(b'codeSystem="S"/></section></component>\n</', b'/></section></component>\n</')
    failures = run(sch, cache, mode, bad)
    assert [(f.pattern_id, f.message) for f in failures] == [("Inc", "code without system")]
    info = pack_info(sch)
    assert info["file_count"] == 3 and info["include_fixups"] == []


def test_include_falls_back_to_a_case_insensitive_match(tmp_path, cache, mode):
    """profils/IHE.sch includes E_directiveAnticipee_int.sch for E_directiveanticipee_int.sch."""
    write(
        tmp_path,
        "Include/E_directiveanticipee_int.sch",
        f'<pattern xmlns="{SCH}" id="D">'
        '<rule context="h:section"><assert test="false()">seen</assert></rule></pattern>',
    )
    sch = write(tmp_path, "p.sch", schema('<include href="include/E_directiveAnticipee_int.sch"/>'))
    assert len(run(sch, cache, mode)) == 2
    fix = pack_info(sch)["include_fixups"]
    fixed = {"href": "include/E_directiveAnticipee_int.sch", "used": "Include/E_directiveanticipee_int.sch"}
    assert fix == [fixed]


def test_abstract_pattern_is_instantiated_with_its_params(tmp_path, cache, mode):
    write(
        tmp_path,
        "abstract/coded.sch",
        f"""<pattern xmlns="{SCH}" id="coded" abstract="true">
              <rule context="$elt">
                <assert test="@code = $allowed">[coded] <value-of select="$label"/>: bad code
                <value-of select="@code"/></assert></rule>
            </pattern>""",
    )
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<include href="abstract/coded.sch"/>
               <pattern id="DocCode" is-a="coded">
                 <param name="elt" value="h:ClinicalDocument/h:code"/>
                 <param name="allowed" value="('11502-2', '18748-4')"/>
                 <param name="label" value="'document code'"/>
               </pattern>
               <pattern id="SectionCode" is-a="coded">
                 <param name="elt" value="h:section/h:code"/>
                 <param name="allowed" value="'X1'"/>
                 <param name="label" value="'section code'"/>
               </pattern>"""
        ),
    )
    got = [(f.pattern_id, f.rule_context, f.message) for f in run(sch, cache, mode)]
    assert got == [("SectionCode", "h:section/h:code", "[coded] section code: bad code X2")]


def test_abstract_rule_is_inlined_by_extends(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="P">
                 <rule abstract="true" id="hasCode"><assert test="h:code">no code in <name/></assert></rule>
                 <rule context="h:section">
                   <extends rule="hasCode"/><assert test="h:templateId">no tid</assert></rule>
               </pattern>"""
        ),
    )
    assert run(sch, cache, mode) == []
    bad = DOC.replace(b'<code code="X2" codeSystem="S"/>', b"")
    assert [f.message for f in run(sch, cache, mode, bad)] == ["no code in section"]


def test_lets_at_schema_pattern_and_rule_level(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<let name="expected" value="'11502-2'"/>
               <pattern id="P">
                 <let name="systemLoinc" value="'2.16.840.1.113883.6.1'"/>
                 <rule context="h:ClinicalDocument/h:code">
                   <let name="c" value="@code"/>
                   <assert test="$c = $expected
                                 and @codeSystem = $systemLoinc">code <value-of select="$c"/></assert>
                 </rule>
               </pattern>
               <pattern id="Q"><rule context="h:section">
                 <assert test="$systemLoinc != ''">pattern lets are global, as in the ISO skeleton</assert>
               </rule></pattern>"""
        ),
    )
    assert run(sch, cache, mode) == []
    bad = DOC.replace(b'code="11502-2"', b'code="18748-4"')
    assert [f.message for f in run(sch, cache, mode, bad)] == ["code 18748-4"]


def _value_set(codes: list[tuple[str, str]]) -> str:
    concepts = "".join(f'<Concept code="{c}" codeSystem="{s}" displayName="{c}"/>' for c, s in codes)
    concept_list = f"<ConceptList>{concepts}</ConceptList>"
    return f"""<ValueSet xmlns="urn:ihe:iti:svs:2008" id="1.2">{concept_list}</ValueSet>"""


def _value_set_pack(tmp_path: Path) -> Path:
    write(tmp_path, "jeuxDeValeurs/JDV_Sections.xml", _value_set([("X1", "S"), ("X2", "S")]))
    write(tmp_path, "jeuxDeValeurs/JDV_Docs.xml", _value_set([("11502-2", "2.16.840.1.113883.6.1")]))
    return write(
        tmp_path,
        "schematrons/p.sch",
        schema(
            """<pattern id="principal">
                 <let name="jdv_sections" value="'../jeuxDeValeurs/JDV_Sections.xml'"/>
               </pattern>
               <pattern id="VS">
                 <rule context="h:section/h:code">
                   <let name="c" value="@code"/><let name="s" value="@codeSystem"/>
                   <assert test="document($jdv_sections)//svs:Concept[@code=$c and @codeSystem=$s]">
                     <value-of select="$c"/> not in <value-of select="$jdv_sections"/></assert>
                 </rule>
                 <rule context="h:ClinicalDocument/h:code">
                   <assert test="@code =
                                 doc('../jeuxDeValeurs/JDV_Docs.xml')//svs:Concept/@code">doc code</assert>
                 </rule>
               </pattern>""",
            ns='<ns prefix="h" uri="urn:hl7-org:v3"/><ns prefix="svs" uri="urn:ihe:iti:svs:2008"/>',
        ),
    )


def test_document_lookups_resolve_against_the_entry_sch(tmp_path, cache, mode):
    sch = _value_set_pack(tmp_path)
    assert run(sch, cache, mode) == []
    bad = DOC.replace(b'code="X2"', b'code="X3"').replace(b'code="11502-2"', b'code="18748-4"')
    got = [f.message for f in run(sch, cache, mode, bad)]
    assert got == ["doc code", "X3 not in ../jeuxDeValeurs/JDV_Sections.xml"]
    info = pack_info(sch)
    value_sets = ["../jeuxDeValeurs/JDV_Docs.xml", "../jeuxDeValeurs/JDV_Sections.xml"]
    assert sorted(info["value_sets"]) == value_sets
    assert info["missing_files"] == []


def test_doc_of_a_missing_file_is_a_pack_error_for_that_assert_only(tmp_path, cache, mode):
    """structurationMinimale calls doc('include/voc-…471-DYNAMIC.xml'), a file that never existed."""
    missing = "@code = doc('include/voc-missing.xml')//concept/@code"
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            f"""<pattern id="P"><rule context="h:ClinicalDocument/h:code">
                 <assert test="{missing}">not in value set</assert>
                 <assert test="false()">still evaluated</assert>
               </rule></pattern>
               <pattern id="Q">
                 <rule context="h:section"><assert test="h:code">fine</assert></rule></pattern>"""
        ),
    )
    failures = run(sch, cache, mode)
    assert [(f.kind, f.severity) for f in failures] == [("pack-error", "error"), ("assert", "error")]
    err = failures[0]
    assert "FODC0002" in err.message and err.location == "/h:ClinicalDocument[1]/h:code[1]"
    assert err.test.startswith("@code = doc(")
    assert pack_info(sch)["missing_files"] == ["include/voc-missing.xml"]


def test_unused_missing_value_set_is_harmless(tmp_path, cache, mode):
    """CI-SIS_ModelesDeContenusCDA declares JDV_ClinicalStatusCodes_CISIS.xml, absent, never used."""
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="P"><let name="jdv_unused" value="'../JDV_Absent.xml'"/>
                 <rule context="h:section"><assert test="h:code">fine</assert></rule></pattern>"""
        ),
    )
    assert run(sch, cache, mode) == []
    assert pack_info(sch)["missing_files"] == ["../JDV_Absent.xml"]


def test_default_phase_selects_the_active_patterns(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<phase id="main"><active pattern="On"/></phase>
               <pattern id="On"><rule context="h:section"><assert test="false()">on</assert></rule></pattern>
               <pattern id="Off">
                 <rule context="h:section"><assert test="false()">off</assert></rule></pattern>""",
            extra='defaultPhase="main"',
        ),
    )
    assert {f.message for f in run(sch, cache, mode)} == {"on"}
    all_phases = compile_pack(sch, cache_dir=cache, mode=mode, phase="#ALL").run(DOC).failures
    assert {f.message for f in all_phases} == {"on", "off"}


def test_diagnostics_are_attached_to_the_failure(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="P"><rule context="h:ClinicalDocument">
                 <assert test="false()" diagnostics="d1">main text</assert></rule></pattern>
               <diagnostics><diagnostic id="d1">found <value-of select="count(h:component)"/></diagnostic>
                 </diagnostics>"""
        ),
    )
    (f,) = run(sch, cache, mode)
    assert f.message == "main text" and f.diagnostics == (("d1", "found 2"),)


def test_svrl_output_is_iso_svrl(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(section_rule('<assert test="false()" role="error">x</assert>')),
    )
    result = compile_pack(sch, cache_dir=cache, mode=mode).run(DOC)
    svrl = etree.fromstring(result.svrl)
    ns = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
    assert svrl.tag == "{http://purl.oclc.org/dsdl/svrl}schematron-output"
    assert [a.get("id") for a in svrl.findall("svrl:active-pattern", ns)] == ["P"]
    failed = svrl.findall("svrl:failed-assert", ns)
    assert [(f.get("role"), f.findtext("svrl:text", namespaces=ns)) for f in failed] == [("error", "x")] * 2
    assert svrl.find("svrl:fired-rule", ns).get("context") == "h:section"
    assert result.elapsed_ms > 0


def test_document_encoding_from_the_xml_declaration(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="P"><rule context="h:ClinicalDocument/h:code">
                 <assert test="@displayName =
                               'CR de biologie é'">name <value-of select="@displayName"/></assert>
               </rule></pattern>"""
        ),
    )
    latin1 = (
        DOC.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
        .decode()
        .replace("CR de biologie", "CR de biologie é")
        .encode("latin-1")
    )
    assert run(sch, cache, mode, latin1) == []


@pytest.mark.parametrize(
    "role, severity",
    [(None, "error"), ("error", "error"), ("fatal", "error"), ("WARNING", "warning"), ("info", "info"),
     ("information", "info")],
)
def test_severity_from_role(role, severity):
    assert severity_of(role) == severity


# ----------------------------------------------------------------------------- errors


def test_a_pack_that_does_not_parse_is_a_pack_load_error(tmp_path, cache):
    sch = write(tmp_path, "broken.sch", "<schema xmlns='http://purl.oclc.org/dsdl/schematron'><pattern>")
    with pytest.raises(PackLoadError) as exc:
        compile_pack(sch, cache_dir=cache)
    assert exc.value.path == sch.resolve() and "does not parse" in str(exc.value)


def test_an_included_file_that_does_not_parse_names_that_file(tmp_path, cache):
    bad = write(tmp_path, "inc/bad.sch", "<pattern xmlns='http://purl.oclc.org/dsdl/schematron'>")
    sch = write(tmp_path, "p.sch", schema('<include href="inc/bad.sch"/>'))
    with pytest.raises(PackLoadError) as exc:
        compile_pack(sch, cache_dir=cache)
    assert exc.value.path == bad.resolve() and exc.value.referrer == sch.resolve()


def test_a_missing_include_is_a_pack_load_error_naming_the_file(tmp_path, cache):
    sch = write(tmp_path, "p.sch", schema('<include href="include/nowhere.sch"/>'))
    with pytest.raises(PackLoadError) as exc:
        compile_pack(sch, cache_dir=cache)
    assert exc.value.path == (tmp_path / "include/nowhere.sch").resolve()
    assert exc.value.referrer == sch.resolve()
    assert "include/nowhere.sch" in str(exc.value)


def test_a_missing_pack_file_is_a_pack_load_error(tmp_path, cache):
    with pytest.raises(PackLoadError):
        compile_pack(tmp_path / "absent.sch", cache_dir=cache)


def test_an_unknown_abstract_pattern_is_a_pack_load_error(tmp_path, cache):
    unknown = '<pattern id="X" is-a="nowhere"><param name="a" value="b"/></pattern>'
    sch = write(tmp_path, "p.sch", schema(unknown))
    with pytest.raises(PackLoadError, match="nowhere"):
        compile_pack(sch, cache_dir=cache)


def test_an_xpath_syntax_error_is_a_pack_compile_error(tmp_path, cache):
    sch = write(tmp_path, "p.sch", schema(section_rule('<assert test="((">x</assert>')))
    with pytest.raises(PackCompileError) as exc:
        compile_pack(sch, cache_dir=cache)
    assert exc.value.path == sch.resolve()


def test_unknown_mode_is_refused(tmp_path, cache):
    sch = write(tmp_path, "p.sch", schema(""))
    with pytest.raises(ValueError, match="mode"):
        compile_pack(sch, cache_dir=cache, mode="turbo")


def test_runs_from_several_threads_give_the_sequential_results(tmp_path, cache):
    sch = write(
        tmp_path,
        "p.sch",
        schema(section_rule("<assert test=\"h:code/@code = 'X1'\">x</assert>")),
    )
    pack = compile_pack(sch, cache_dir=cache)
    docs = [DOC.replace(b"X2", f"X{i}".encode()) for i in range(12)]
    expected = [[f.key for f in pack.run(d).failures] for d in docs]

    def keys_found_by_a_fresh_pack(doc: bytes) -> list:
        return [f.key for f in compile_pack(sch, cache_dir=cache).run(doc).failures]

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(keys_found_by_a_fresh_pack, docs))
    assert got == expected


def test_an_error_in_a_global_let_is_one_pack_error_for_the_whole_run(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<let name="vs" value="doc('missing.xml')"/>
               <pattern id="P"><rule context="h:section"><assert test="$vs//x">x</assert></rule></pattern>"""
        ),
    )
    (f,) = run(sch, cache, mode)
    assert (f.kind, f.severity, f.pattern_id, f.location) == ("pack-error", "error", None, None)
    assert "missing.xml" in f.message


def test_xslt_keys_and_functions_declared_in_the_schema_are_available(tmp_path, cache, mode):
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<xsl:key xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                        name="tid" match="h:templateId" use="@root"/>
               <xsl:function xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:f="urn:f" name="f:double">
                 <xsl:param name="s"/><xsl:sequence select="concat($s, $s)"/></xsl:function>
               <pattern id="P"><rule context="h:ClinicalDocument">
                 <assert test="count(key('tid', '9.9')) = 3"
                         xmlns:f="urn:f">tid <value-of select="f:double('x')"/></assert>
               </rule></pattern>""",
            ns='<ns prefix="h" uri="urn:hl7-org:v3"/><ns prefix="f" uri="urn:f"/>',
        ),
    )
    assert [f.message for f in run(sch, cache, mode)] == ["tid xx"]


def test_an_undeclared_default_phase_runs_nothing_and_says_so(tmp_path, cache, mode):
    """As the ISO skeleton: it warns and no pattern is active; pack_info carries the warning."""
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            '<pattern id="P"><rule context="h:section"><assert test="false()">x</assert></rule></pattern>',
            extra='defaultPhase="nowhere"',
        ),
    )
    assert run(sch, cache, mode) == []
    assert pack_info(sch)["warnings"] == ["phase 'nowhere' is not declared: no pattern is active"]


@pytest.mark.parametrize("code", ["11502-2", "OTHER"])
def test_pattern_split_between_templateid_dispatch_and_chain_keeps_first_match(tmp_path, cache, mode, code):
    """Leading templateId-guarded rules run from the fast mode's dispatch, later rules from the
    template chain: a node matched by both still fires only the first rule of the pattern."""
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="Split">
                 <rule context="*[h:templateId/@root='1.2.3']">
                   <assert test="false()">by templateId</assert></rule>
                 <rule context="h:ClinicalDocument"><assert test="false()">by name</assert></rule>
                 <rule context="h:section/h:code"><assert test="false()">section code</assert></rule>
               </pattern>
               <pattern id="ChainFirst">
                 <rule context="h:ClinicalDocument[h:code/@code='11502-2']">
                   <assert test="false()">chain first</assert></rule>
                 <rule context="*[h:templateId/@root='1.2.3']">
                   <assert test="false()">guarded second</assert></rule>
               </pattern>"""
        ),
    )
    doc = DOC.replace(b'code="11502-2"', f'code="{code}"'.encode())
    got = [(f.pattern_id, f.message) for f in run(sch, cache, mode, doc)]
    split = [m for p, m in got if p == "Split"]
    assert split == ["by templateId", "section code", "section code"]
    chain = [m for p, m in got if p == "ChainFirst"]
    assert chain == (["chain first"] if code == "11502-2" else ["guarded second"])
    # without the templateId the name rule fires instead
    no_tid = DOC.replace(b'<templateId root="1.2.3"/>', b"")
    split = [f.message for f in run(sch, cache, mode, no_tid) if f.pattern_id == "Split"]
    assert split[0] == "by name"


def test_an_error_while_matching_a_rule_context_means_no_match(tmp_path, cache, mode):
    """XSLT treats a dynamic error in a template's match pattern as a non-match (with a warning):
    the classic shape inherits it, the fast shape's templateId dispatch reproduces it."""
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            """<pattern id="P">
                 <rule context="*[h:templateId/@root='9.9' and xs:integer(h:code/@code) > 1]">
                   <assert test="false()">first</assert></rule>
                 <rule context="*[h:templateId/@root='9.9']"><assert test="false()">second</assert></rule>
               </pattern>
               <pattern id="Q"><rule context="h:section"><assert test="false()">q</assert></rule></pattern>"""
        ),
    )
    doc = DOC.replace(b'code="X2"', b'code="5"')
    got = [(f.pattern_id, f.message, f.node_index) for f in run(sch, cache, mode, doc)]
    assert got == [("P", "second", 4), ("P", "first", 8), ("Q", "q", 4), ("Q", "q", 8)]


def test_a_multi_step_context_runs_on_its_last_step_not_on_the_guarded_element(tmp_path, cache, mode):
    """``*[templateId and …]/h:component/h:section[…]`` selects the section: the fast mode once took
    the whole context for one predicate and ran the rule on the guarded element (issue 12, OPH-BRE)."""
    section_x2 = "*[h:templateId/@root='1.2.3' and h:code]/h:component/h:section[h:code/@code='X2']"
    sch = write(
        tmp_path,
        "p.sch",
        schema(
            f"""<pattern id="P">
                 <rule context="{section_x2}">
                   <assert test="false()">section X2</assert></rule>
               </pattern>"""
        ),
    )
    assert [(f.message, f.node_index) for f in run(sch, cache, mode)] == [("section X2", 8)]
