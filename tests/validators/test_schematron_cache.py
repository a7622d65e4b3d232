"""The compiled-pack cache: keyed by the content of the whole closure, shared across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from segur.validators.schematron import compile_pack, pack_info, stats

SCH = "http://purl.oclc.org/dsdl/schematron"
DOC = b'<ClinicalDocument xmlns="urn:hl7-org:v3"><code code="A" codeSystem="S"/></ClinicalDocument>'


def make_pack(root: Path) -> Path:
    (root / "jdv").mkdir(parents=True)
    (root / "jdv" / "JDV_Codes.xml").write_text(
        '<ValueSet xmlns="urn:ihe:iti:svs:2008"><ConceptList><Concept code="A" codeSystem="S"/>'
        "</ConceptList></ValueSet>"
    )
    (root / "sch" / "inc").mkdir(parents=True)
    (root / "sch" / "inc" / "p.sch").write_text(
        textwrap.dedent(
            f"""\
            <pattern xmlns="{SCH}" id="P"><rule context="h:code"><let name="c" value="@code"/>
              <assert test="document($jdv)//svs:Concept[@code = $c]">code <value-of select="$c"/></assert>
            </rule></pattern>"""
        )
    )
    entry = root / "sch" / "pack.sch"
    entry.write_text(
        f"""<schema xmlns="{SCH}" queryBinding="xslt2" schemaVersion="pack-1.0">
          <ns prefix="h" uri="urn:hl7-org:v3"/><ns prefix="svs" uri="urn:ihe:iti:svs:2008"/>
          <let name="jdv" value="'../jdv/JDV_Codes.xml'"/>
          <include href="inc/p.sch"/>
        </schema>"""
    )
    return entry


def test_second_compile_reuses_the_generated_xslt_and_the_executable(tmp_path):
    entry = make_pack(tmp_path / "pack")
    cache = tmp_path / "cache"
    first = compile_pack(entry, cache_dir=cache)
    mtime = first.xslt_path.stat().st_mtime_ns
    before = dict(stats)
    second = compile_pack(entry, cache_dir=cache)
    assert stats["generated"] == before["generated"]
    assert stats["saxon_compiles"] == before["saxon_compiles"]
    assert second.xslt_path == first.xslt_path and second.xslt_path.stat().st_mtime_ns == mtime
    assert second.digest == first.digest and second.run(DOC).failures == []


def test_a_second_process_reads_the_disk_cache_instead_of_regenerating(tmp_path):
    entry = make_pack(tmp_path / "pack")
    cache = tmp_path / "cache"
    compile_pack(entry, cache_dir=cache)
    code = textwrap.dedent(
        f"""
        import json
        from segur.validators.schematron import compile_pack, stats
        pack = compile_pack({str(entry)!r}, cache_dir={str(cache)!r})
        failures = pack.run(b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>').failures
        print(json.dumps(dict(stats, failures=len(failures))))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=True)
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert child["generated"] == 0 and child["disk_hits"] == 1 and child["failures"] == 0


def test_changing_a_value_set_file_changes_the_digest_and_regenerates(tmp_path):
    entry = make_pack(tmp_path / "pack")
    cache = tmp_path / "cache"
    first = compile_pack(entry, cache_dir=cache)
    assert first.run(DOC).failures == []
    vs = tmp_path / "pack" / "jdv" / "JDV_Codes.xml"
    vs.write_text(vs.read_text().replace('code="A"', 'code="B"'))
    generated = stats["generated"]
    second = compile_pack(entry, cache_dir=cache)
    assert second.digest != first.digest and stats["generated"] == generated + 1
    assert [f.message for f in second.run(DOC).failures] == ["code A"]  # the new value set is used
    assert pack_info(entry)["digest"] == second.digest


def test_changing_an_included_file_changes_the_digest(tmp_path):
    entry = make_pack(tmp_path / "pack")
    cache = tmp_path / "cache"
    first = compile_pack(entry, cache_dir=cache)
    inc = tmp_path / "pack" / "sch" / "inc" / "p.sch"
    inc.write_text(inc.read_text().replace("code <value-of", "the code <value-of"))
    assert compile_pack(entry, cache_dir=cache).digest != first.digest


def test_modes_share_the_digest_but_not_the_cache_file(tmp_path):
    entry = make_pack(tmp_path / "pack")
    fast = compile_pack(entry, cache_dir=tmp_path / "c", mode="fast")
    classic = compile_pack(entry, cache_dir=tmp_path / "c", mode="classic")
    assert fast.digest == classic.digest and fast.xslt_path != classic.xslt_path
    assert fast.name == "pack" and fast.version == "pack-1.0"


def test_default_cache_dir_follows_segur_cache_dir(tmp_path, monkeypatch):
    entry = make_pack(tmp_path / "pack")
    monkeypatch.setenv("SEGUR_CACHE_DIR", str(tmp_path / "env-cache"))
    pack = compile_pack(entry)
    assert pack.xslt_path.parent == tmp_path / "env-cache" / "schematron"
    assert pack.xslt_path.is_file()


def test_default_cache_dir_is_under_the_current_directory(tmp_path, monkeypatch):
    entry = make_pack(tmp_path / "pack")
    monkeypatch.delenv("SEGUR_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    pack = compile_pack(entry)
    assert pack.xslt_path.parent == tmp_path / ".segur-cache" / "schematron"


def test_pack_info_describes_the_closure(tmp_path):
    entry = make_pack(tmp_path / "pack")
    info = pack_info(entry)
    assert info["name"] == "pack" and info["version"] == "pack-1.0"
    assert info["file_count"] == 2 and info["value_sets"] == ["../jdv/JDV_Codes.xml"]
    assert info["missing_files"] == [] and info["patterns"] == 1 and info["checks"] == 1
