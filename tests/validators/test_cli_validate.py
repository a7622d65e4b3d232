"""`segur validate` as users run it: exit codes, formats a CI server parses, batches, configuration."""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser
import pytest
import rich.console
from lxml import etree
from typer.testing import CliRunner

from segur.cli import app
from segur.validators import batch
from segur.validators.config import ConfigError, pack_setting, parse_size, value_sets_setting
from segur.validators.segur_rules.mutants import RESULT_CODE, svs_value_set

NS = {"cda": "urn:hl7-org:v3"}
CR_IMG_N3 = "IMG_CR_IMG_2024.01.xml"
CR_BIO = "BIO-CR-BIO_2024.01_TSH_1.xml"
GENERIC_N1 = "DOC_NON_STRUCTURE_CDA-R2-N1.xml"
JSON_FINDING_KEYS = {"rule", "severity", "layer", "message", "line", "column", "xpath", "hint"}


def run(*args: str):
    return CliRunner().invoke(app, ["validate", *args])


@pytest.fixture
def broken_cr_img(cda_pack: Path, tmp_path: Path) -> Path:
    """The official CR-IMG N3 example with a wrong document code (the volet pack asserts 18748-4)."""
    tree = etree.parse(str(cda_pack / "ExemplesCDA" / CR_IMG_N3))
    tree.getroot().find("cda:code", NS).set("code", "11488-4")
    path = tmp_path / "broken-cr-img.xml"
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    return path


@pytest.fixture
def batch_dir(cda_pack: Path, broken_cr_img: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(cda_pack / "ExemplesCDA" / CR_IMG_N3, folder / "a-valid.xml")
    shutil.copy(cda_pack / "ExemplesCDA" / GENERIC_N1, folder / "sub" / "b-valid.xml")
    shutil.copy(broken_cr_img, folder / "sub" / "c-invalid.xml")
    (folder / "notes.txt").write_text("not a document")
    return folder


# -- exit codes and text ------------------------------------------------------------------------

def test_valid_official_example_prints_valid_and_exits_0(cda_pack):
    result = run("--pack", str(cda_pack), str(cda_pack / "ExemplesCDA" / CR_IMG_N3))
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output and "INVALID" not in result.output
    assert "IMG-CR-IMG_2024.01" in result.output and "CI-SIS_ModelesDeContenusCDA" in result.output


def test_invalid_document_exits_1_with_rule_line_xpath(cda_pack, broken_cr_img):
    result = run("--pack", str(cda_pack), str(broken_cr_img))
    assert result.exit_code == 1, result.output
    assert "INVALID" in result.output and "[schematron]" in result.output
    assert "IMG-CR-IMG/Entete_IMG-CR-IMG/" in result.output
    assert "/cda:ClinicalDocument" in result.output
    line = etree.parse(str(broken_cr_img)).getroot().sourceline
    assert f" {line}:" in result.output


def test_text_output_keeps_brackets_in_messages_literally(cda_pack, broken_cr_img):
    # Pack messages start with "[Entete_IMG-CR-IMG]"; rich must not swallow it as markup.
    result = run("--pack", str(cda_pack), str(broken_cr_img))
    assert "[Entete_IMG-CR-IMG]" in result.output


def test_no_pack_says_which_layers_were_not_checked(cda_pack):
    result = run("--no-pack", str(cda_pack / "ExemplesCDA" / CR_IMG_N3))
    assert result.exit_code == 3 and "PARTIAL" in result.output and "VALID" not in result.output.replace(
        "INVALID", "")
    assert "xsd: skipped" in result.output and "schematron: skipped" in result.output
    assert "no pack directory" in result.output
    assert "not checked: xsd, schematron" in result.output


def test_usage_errors_exit_2(cda_pack, tmp_path):
    doc = str(cda_pack / "ExemplesCDA" / CR_IMG_N3)
    assert run("--format", "yaml", doc).exit_code == 2
    result = run("--pack", str(tmp_path / "nowhere"), doc)
    assert result.exit_code == 2 and "does not exist" in result.output
    result = run("--pack", str(cda_pack), "--profile", "NOPE", doc)
    assert result.exit_code == 2 and "unknown profile" in result.output
    assert run("--no-pack", "--layers", "xml,magic", doc).exit_code == 2
    assert run("--no-pack", "--max-size", "lots", doc).exit_code == 2
    assert run("--no-pack", "--lang", "de", doc).exit_code == 2
    assert run("--no-pack", "--schematron-mode", "turbo", doc).exit_code == 2
    assert run().exit_code == 2  # no path at all


def test_missing_file_exits_2(tmp_path):
    result = run("--no-pack", str(tmp_path / "absent.xml"))
    assert result.exit_code == 2 and "XML-007" in result.output


def test_lang_fr_translates_own_rule_messages(tmp_path):
    path = tmp_path / "fhir.xml"
    path.write_bytes(b'<Bundle xmlns="http://hl7.org/fhir"/>')
    result = run("--no-pack", "--lang", "fr", str(path))
    assert result.exit_code == 1 and "L'élément racine est" in result.output


def test_profile_none_skips_schematron(cda_pack):
    cr_bio = str(cda_pack / "ExemplesCDA" / CR_BIO)
    result = run("--pack", str(cda_pack), "--profile", "none", "-f", "json", cr_bio)
    layers = {x["name"]: x for x in json.loads(result.output)["documents"][0]["layers"]}
    assert layers["schematron"]["status"] == "skipped" and layers["schematron"]["reason"] == "--profile none"


# -- json ---------------------------------------------------------------------------------------

def test_json_output_has_the_fields_and_the_packs(cda_pack, broken_cr_img):
    result = run("--pack", str(cda_pack), "--format", "json", str(broken_cr_img))
    assert result.exit_code == 1
    data = json.loads(result.output)
    [doc] = data["documents"]
    assert doc["verdict"] == "INVALID" and doc["valid"] is False and doc["exit_code"] == 1
    assert doc["findings"] and all(set(f) >= JSON_FINDING_KEYS for f in doc["findings"])
    assert {f["layer"] for f in doc["findings"]} >= {"schematron"}
    packs = {p["name"]: p for p in doc["packs"]}
    assert set(packs) == {"CI-SIS_ModelesDeContenusCDA", "CI-SIS_IMG-CR-IMG_2024.01"}
    assert packs["CI-SIS_IMG-CR-IMG_2024.01"]["version"] == "2024.01"
    assert packs["CI-SIS_IMG-CR-IMG_2024.01"]["digest"].startswith("sha256:")
    assert [x["name"] for x in doc["layers"]] == ["xml", "structure", "xsd", "schematron", "segur"]
    assert doc["profile"]["volet"] == "IMG-CR-IMG_2024.01"
    assert data["summary"]["invalid"] == 1 and data["summary"]["exit_code"] == 1


def test_json_output_for_an_unreadable_document(tmp_path):
    path = tmp_path / "x.xml"
    path.write_bytes(b"<open>")
    data = json.loads(run("--no-pack", "-f", "json", str(path)).output)
    assert data["documents"][0]["verdict"] == "UNREADABLE"
    assert data["documents"][0]["findings"][0]["rule"] == "XML-001"
    assert data["summary"]["unreadable"] == 1


def test_output_to_a_file(cda_pack, tmp_path):
    out = tmp_path / "report.json"
    cr_bio = str(cda_pack / "ExemplesCDA" / CR_BIO)
    result = run("--pack", str(cda_pack), "-f", "json", "-o", str(out), cr_bio)
    assert result.exit_code == 0 and result.output == ""
    assert json.loads(out.read_text())["documents"][0]["valid"] is True


# -- junit --------------------------------------------------------------------------------------

def test_junit_output_parses_with_one_testcase_per_rule_fired(cda_pack, broken_cr_img, tmp_path):
    valid = cda_pack / "ExemplesCDA" / CR_BIO
    result = run("--pack", str(cda_pack), "--format", "junit", str(broken_cr_img), str(valid))
    assert result.exit_code == 1
    root = ET.fromstring(result.output.encode())  # the standard library parser, as CI plugins use
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 2
    broken_suite = next(s for s in suites if s.get("name").endswith("broken-cr-img.xml"))
    failures = broken_suite.findall("testcase/failure")
    assert failures and int(broken_suite.get("failures")) == len(failures)
    names = [c.get("name") for c in broken_suite.findall("testcase") if c.find("failure") is not None]
    assert len(names) == len(set(names))  # one testcase per rule
    assert any(n.startswith("IMG-CR-IMG/Entete_IMG-CR-IMG/") for n in names)
    assert "/cda:ClinicalDocument" in failures[0].text
    valid_suite = next(s for s in suites if s.get("name").endswith(CR_BIO))
    assert valid_suite.get("failures") == "0"
    passing = [c.get("name") for c in valid_suite.findall("testcase")]
    assert {"xml layer: no errors", "xsd layer: no errors", "schematron layer: no errors"} <= set(passing)
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)


def test_junit_marks_skipped_layers_and_unreadable_documents(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_bytes(b"<open>")
    root = ET.fromstring(run("--no-pack", "-f", "junit", str(path)).output.encode())
    suite = root.find("testsuite")
    assert suite.find("testcase/error").get("type") == "XML-001"
    assert int(suite.get("errors")) == 1 and int(suite.get("skipped")) == 4


def test_junit_output_parses_with_junitparser(cda_pack, broken_cr_img, tmp_path):
    out = tmp_path / "junit.xml"
    run("--pack", str(cda_pack), "-f", "junit", "-o", str(out), str(broken_cr_img))
    xml = junitparser.JUnitXml.fromfile(str(out))
    assert sum(1 for suite in xml for case in suite) > 0


# -- svrl ---------------------------------------------------------------------------------------

def test_svrl_output_is_one_schematron_output_with_the_failed_asserts(cda_pack, broken_cr_img):
    result = run("--pack", str(cda_pack), "--format", "svrl", str(broken_cr_img))
    root = etree.fromstring(result.output.encode())
    svrl = "{http://purl.oclc.org/dsdl/svrl}"
    assert root.tag == f"{svrl}schematron-output"
    failed = root.findall(f"{svrl}failed-assert")
    assert any("18748-4" in "".join(f.itertext()) for f in failed)
    assert root.findall(f"{svrl}fired-rule")  # the packs' own SVRL is merged in


def test_svrl_for_several_documents_is_one_xml_document(cda_pack, broken_cr_img):
    cr_bio = str(cda_pack / "ExemplesCDA" / CR_BIO)
    result = run("--pack", str(cda_pack), "-f", "svrl", str(broken_cr_img), cr_bio)
    root = etree.fromstring(result.output.encode())
    assert len(root) == 2 and {d.get("verdict") for d in root} == {"VALID", "INVALID"}


# -- batches ------------------------------------------------------------------------------------

def test_batch_over_a_directory_with_two_jobs(cda_pack, batch_dir):
    result = run("--pack", str(cda_pack), "--jobs", "2", "-f", "json", str(batch_dir))
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    names = [Path(d["document"]).name for d in data["documents"]]
    assert names == ["a-valid.xml", "b-valid.xml", "c-invalid.xml"]  # input order, *.xml only, recursive
    assert [d["verdict"] for d in data["documents"]] == ["VALID", "VALID", "INVALID"]
    summary = data["summary"]
    assert (summary["documents"], summary["valid"], summary["invalid"]) == (3, 2, 1)
    assert data["summary"]["errors_by_rule"]


def test_the_progress_bar_on_a_terminal_starts_no_thread_and_counts_every_document(batch_dir, monkeypatch):
    """A thread alive at the batch's start would make it spawn cold workers instead of forking warm ones
    (segur.validators.batch): the bar is redrawn as documents end, by the command, not by a thread."""
    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    threads_before, seen = threading.active_count(), []
    real_run = batch.run

    def spy(items, options, jobs, on_done, stdin):
        seen.append(threading.active_count())
        return real_run(items, options, jobs, on_done, stdin)

    monkeypatch.setattr(batch, "run", spy)
    result = run("--no-pack", "--jobs", "2", "-f", "json", str(batch_dir))
    assert result.exit_code == 1, result.output  # c-invalid.xml: a wrong document code (SEGUR-CODE-002)
    assert seen == [threads_before]
    assert "3/3" in result.stderr  # the bar's last state: every document counted


def test_batch_summary_line_and_globs(cda_pack, batch_dir):
    globs = [str(batch_dir / "**" / "*.xml"), str(batch_dir / "zz*.xml")]
    result = run("--pack", str(cda_pack), "--only-invalid", *globs)
    assert result.exit_code == 2  # the second glob matches nothing: unreadable input
    assert "4 document(s): 2 valid, 1 invalid, 1 unreadable" in result.output
    assert "errors by rule: " in result.output
    assert "a-valid.xml" not in result.output.replace(str(batch_dir), "")  # --only-invalid hides valid ones


def test_quiet_prints_only_the_summary(cda_pack, batch_dir):
    result = run("--pack", str(cda_pack), "-q", str(batch_dir))
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith("3 document(s): 2 valid, 1 invalid, 0 unreadable")


def test_stdin_input(cda_pack):
    data = (cda_pack / "ExemplesCDA" / CR_BIO).read_bytes()
    result = CliRunner().invoke(app, ["validate", "--pack", str(cda_pack), "-f", "json", "-"], input=data)
    assert result.exit_code == 0
    assert json.loads(result.output)["documents"][0]["document"] == "<stdin>"


# -- configuration -------------------------------------------------------------------------------

def test_pack_from_segur_toml_in_the_working_directory(cda_pack, tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_PACK", raising=False)
    (tmp_path / "segur.toml").write_text(f'pack = "{cda_pack}"\nmax_size = "10MB"\n')
    monkeypatch.chdir(tmp_path)
    result = run("-f", "json", str(cda_pack / "ExemplesCDA" / CR_BIO))
    doc = json.loads(result.output)["documents"][0]
    assert result.exit_code == 0 and [p["name"] for p in doc["packs"]][0] == "CI-SIS_ModelesDeContenusCDA"


def test_pack_from_user_config_relative_to_the_file(cda_pack, tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_PACK", raising=False)
    home = tmp_path / "home"
    (home / ".config" / "segur").mkdir(parents=True)
    (home / ".config" / "segur" / "config.toml").write_text('[validate]\npack = "../../ref"\n')
    found = pack_setting(None, cwd=tmp_path, home=home)
    assert found.value == (home / "ref").resolve() and found.source.endswith("config.toml")


def test_env_pack_beats_config_and_option_beats_env(cda_pack, tmp_path, monkeypatch):
    (tmp_path / "segur.toml").write_text('pack = "/from/file"\n')
    monkeypatch.setenv("SEGUR_PACK", "/from/env")
    assert str(pack_setting(None, cwd=tmp_path).value) == "/from/env"
    assert str(pack_setting("/from/option", cwd=tmp_path).value) == "/from/option"
    monkeypatch.delenv("SEGUR_PACK")
    assert str(pack_setting(None, cwd=tmp_path, home=tmp_path).value) == "/from/file"


def test_broken_config_file_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_PACK", raising=False)
    (tmp_path / "segur.toml").write_text("pack = [unclosed\n")
    monkeypatch.chdir(tmp_path)
    doc = tmp_path / "d.xml"
    doc.write_bytes(b"<a/>")
    result = run(str(doc))
    assert result.exit_code == 2 and "segur.toml" in result.output


def test_parse_size():
    assert parse_size("50MB") == 50 * 1024 * 1024
    assert parse_size("512k") == 512 * 1024
    assert parse_size(1000) == 1000 and parse_size("1000") == 1000
    for bad in ("", "-1", "ten", "0", 0):
        with pytest.raises(ConfigError):
            parse_size(bad)


def test_wrong_ins_key_exits_1_with_rule_line_xpath_and_hint(cda_pack, tmp_path):
    """The issue's "done when": a wrong NIR key is caught by the Ségur rules, located and explained."""
    source = cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml"
    tree = etree.parse(str(source))
    ins = tree.getroot().xpath("//cda:patientRole/cda:id[@root='1.2.250.1.213.1.4.10']", namespaces=NS)[0]
    ins.set("extension", ins.get("extension")[:-2] + f"{(int(ins.get('extension')[-2:]) + 1) % 97:02d}")
    path = tmp_path / "wrong-ins-key.xml"
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    line = etree.parse(str(path)).getroot().xpath("//cda:patientRole/cda:id[@root='1.2.250.1.213.1.4.10']",
                                                  namespaces=NS)[0].sourceline
    result = run("--pack", str(cda_pack), str(path))
    assert result.exit_code == 1, result.output
    assert "SEGUR-INS-003" in result.output
    assert f"  {line}:" in result.output
    assert "/cda:ClinicalDocument/cda:recordTarget[1]/cda:patientRole[1]/cda:id[" in result.output
    assert "hint:" in result.output
    data = json.loads(run("--pack", str(cda_pack), "-f", "json", "--lang", "fr", str(path)).output)
    [finding] = [f for f in data["documents"][0]["findings"] if f["rule"] == "SEGUR-INS-003"]
    assert finding["line"] == line and finding["column"] and finding["hint"]
    assert finding["message"].startswith("L'INS")  # --lang fr


def test_classic_schematron_mode_gives_the_same_verdict(cda_pack, broken_cr_img):
    fast = json.loads(run("--pack", str(cda_pack), "-f", "json", str(broken_cr_img)).output)["documents"][0]
    classic = json.loads(run("--pack", str(cda_pack), "-f", "json", "--schematron-mode", "classic",
                             str(broken_cr_img)).output)["documents"][0]
    assert classic["settings"]["schematron_mode"] == "classic"
    assert sorted((f["rule"], f["line"]) for f in classic["findings"]) == sorted(
        (f["rule"], f["line"]) for f in fast["findings"])


def test_strict_makes_an_unchecked_layer_an_error(cda_pack, monkeypatch):
    monkeypatch.delenv("SEGUR_PACK", raising=False)
    doc = str(cda_pack / "ExemplesCDA" / CR_BIO)
    relaxed = run("--no-pack", doc)
    assert relaxed.exit_code == 3 and "PARTIAL" in relaxed.output  # never VALID without the packs
    strict = run("--no-pack", "--strict", "-f", "json", doc)
    assert strict.exit_code == 1
    errors = [f for f in json.loads(strict.output)["documents"][0]["findings"] if f["rule"] == "VAL-002"]
    assert sorted(f["message"].split()[1] for f in errors) == ["schematron", "xsd"]
    # a layer the user chose to skip is not an error, but the document is still only PARTIAL
    assert run("--pack", str(cda_pack), "--strict", "--profile", "none", doc).exit_code == 3
    assert run("--pack", str(cda_pack), "--strict", "--layers", "xml,xsd", doc).exit_code == 3
    assert run("--pack", str(cda_pack), "--strict", doc).exit_code == 0


def test_a_missing_pack_configuration_is_noted_on_stderr(cda_pack, tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_PACK", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["validate", str(cda_pack / "ExemplesCDA" / CR_BIO)])
    assert "no pack directory configured" in result.stderr
    assert "no pack directory configured" not in result.stdout


def test_a_cr_img_n1_with_an_8_mb_pdf_is_validated_not_called_malformed(cda_pack, tmp_path):
    """Its base64 text node (> 10 M characters) is over libxml2's default limit: it used to be
    XML-001 'not well-formed', exit 2, although the file is under --max-size (issue 12)."""
    source = (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml").read_bytes()
    text = re.search(rb"(<text[^>]*>)(.*?)(</text>)", source, re.S)
    pdf = base64.b64decode(text.group(2))
    big_pdf = pdf[:-6] + b"\n%" + b"x" * (8 * 1024 * 1024) + b"\n" + pdf[-6:]  # a PDF comment as padding
    path = tmp_path / "cr-img-n1-8mb.xml"
    path.write_bytes(source[: text.start(2)] + base64.b64encode(big_pdf) + source[text.end(2):])
    assert path.stat().st_size > 10 * 1024 * 1024
    result = run("--pack", str(cda_pack), "-f", "json", str(path))
    document = json.loads(result.output)["documents"][0]
    assert not [f for f in document["findings"] if f["layer"] == "xml"], document["findings"]
    assert result.exit_code == 0 and document["verdict"] == "VALID"
    assert {layer["name"]: layer["status"] for layer in document["layers"]} == dict.fromkeys(
        ("xml", "structure", "xsd", "schematron", "segur"), "ran")


# -- --value-set: the user's biology value set (SEGUR-CODE-006) ---------------------------------------

def _bio_value_set(tmp_path: Path, codes) -> Path:
    path = tmp_path / "circuit-bio.xml"
    path.write_bytes(svs_value_set({(code, "2.16.840.1.113883.6.1") for code in codes}))
    return path


def _result_codes(path: Path) -> list[str]:
    return [c.get("code") for c in etree.parse(str(path)).getroot().xpath(RESULT_CODE, namespaces=NS)]


def test_value_set_option_checks_the_lab_result_codes(cda_pack, tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_VALUE_SETS", raising=False)
    example = cda_pack / "ExemplesCDA" / CR_BIO
    codes = _result_codes(example)
    inside = run("--pack", str(cda_pack), "-f", "json", "--value-set",
                 f"bio-results={_bio_value_set(tmp_path, codes)}", str(example))
    assert inside.exit_code == 0, inside.output
    rules = {f["rule"] for f in json.loads(inside.output)["documents"][0]["findings"]}
    assert not rules & {"SEGUR-CODE-005", "SEGUR-CODE-006"}
    outside = run("--pack", str(cda_pack), "-f", "json", "--value-set",
                  f"bio-results={_bio_value_set(tmp_path, codes[:1])}", str(example))
    assert outside.exit_code == 1, outside.output
    assert "SEGUR-CODE-006" in {f["rule"] for f in json.loads(outside.output)["documents"][0]["findings"]}


def test_without_value_set_the_info_finding_names_the_option(cda_pack, tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_VALUE_SETS", raising=False)
    monkeypatch.chdir(tmp_path)
    result = run("--pack", str(cda_pack), "-f", "json", str(cda_pack / "ExemplesCDA" / CR_BIO))
    assert result.exit_code == 0, result.output
    info = [f for f in json.loads(result.output)["documents"][0]["findings"] if f["rule"] == "SEGUR-CODE-005"]
    assert len(info) == 1 and "--value-set bio-results=FILE" in info[0]["message"]


@pytest.mark.parametrize("content", [b"<ValueSet", b"code;label\n3016-3;TSH\n",
                                     b'{"resourceType": "Patient"}'])
def test_malformed_value_set_file_is_a_usage_error(tmp_path, content, monkeypatch):
    monkeypatch.delenv("SEGUR_VALUE_SETS", raising=False)
    bad = tmp_path / "bad-value-set"
    bad.write_bytes(content)
    doc = tmp_path / "d.xml"
    doc.write_bytes(b"<a/>")
    result = run("--no-pack", "--value-set", f"bio-results={bad}", str(doc))
    assert result.exit_code == 2
    assert "bad-value-set" in result.output


def test_unknown_role_or_missing_value_set_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_VALUE_SETS", raising=False)
    doc = tmp_path / "d.xml"
    doc.write_bytes(b"<a/>")
    assert run("--no-pack", "--value-set", f"imaging={doc}", str(doc)).exit_code == 2
    missing = run("--no-pack", "--value-set", f"bio-results={tmp_path / 'nope.xml'}", str(doc))
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_value_sets_from_env_and_config_file(tmp_path, monkeypatch):
    (tmp_path / "segur.toml").write_text('[validate]\nvalue_sets = ["bio-results=ref/circuit.xml"]\n')
    monkeypatch.setenv("SEGUR_VALUE_SETS", "bio-results=/from/env.xml")
    assert value_sets_setting(None, cwd=tmp_path).value == ["bio-results=/from/env.xml"]
    assert value_sets_setting(["bio-results=opt.xml"], cwd=tmp_path).source == "--value-set"
    monkeypatch.delenv("SEGUR_VALUE_SETS")
    found = value_sets_setting(None, cwd=tmp_path, home=tmp_path)
    assert found.value == [f"bio-results={(tmp_path / 'ref' / 'circuit.xml').resolve()}"]


def test_value_set_from_env_is_used_by_validate(cda_pack, tmp_path, monkeypatch):
    example = cda_pack / "ExemplesCDA" / CR_BIO
    one_code = _bio_value_set(tmp_path, _result_codes(example)[:1])
    monkeypatch.setenv("SEGUR_VALUE_SETS", f"bio-results={one_code}")
    result = run("--pack", str(cda_pack), "-f", "json", str(example))
    assert result.exit_code == 1
    assert "SEGUR-CODE-006" in {f["rule"] for f in json.loads(result.output)["documents"][0]["findings"]}


def test_value_sets_in_config_must_be_strings(tmp_path):
    (tmp_path / "segur.toml").write_text("value_sets = [1, 2]\n")
    with pytest.raises(ConfigError, match="value_sets"):
        value_sets_setting(None, cwd=tmp_path, home=tmp_path)
