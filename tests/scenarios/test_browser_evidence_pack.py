"""The evidence pack in a real browser (headless Chromium driven by selenium), as a reviewer sees it: the
documents rendered, a findings table with its rule ids, no raw dict or JSON dump in the visible text, and the
print stylesheet applied. Skipped outside CI when Chromium is not installed; under CI=true a missing
Chromium fails (`.ci/run` installs Debian's chromium and chromium-driver)."""

from __future__ import annotations

import base64
import re

import pytest

from segur.scenarios.evidence_pack.browser import emulate_print, start_chromium

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]


@pytest.fixture(scope="module")
def pack(chromium, seeded_proof):
    """A small proof with a defect (the N1 body is not base64): documents on both services, and findings (the
    session's run, which test_evidence_pack_documents.py judges)."""
    return seeded_proof("reference-ris:pdf-not-base64")


@pytest.fixture(scope="module")
def page(pack, tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        driver.get((pack.out / "index.html").resolve().as_uri())
        yield driver
    finally:
        driver.quit()


def _text(page, selector: str) -> list[str]:
    return page.execute_script("return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText)",
                               selector)


def test_a_document_view_shows_the_patients_name_and_ins(pack, page):
    task = next(t for t in pack.evidence["run"]["tasks"] if t["task"]["id"] == "dmp-01")
    views = [text for text in _text(page, "details.doc") if "dmp-01" in text]
    assert views, "no document of dmp-01 on the page"
    assert task["task"]["patient"]["birth_name"] in views[0] and task["world"]["ins"] in views[0]
    assert "Patient" in views[0] and "Custodian" in views[0]


def test_the_findings_table_shows_a_rule_id(page):
    tables = _text(page, "table.findings")
    assert tables and any("SEGUR-BODY-002" in table for table in tables)
    assert "rule id" in tables[0] and "severity" in tables[0]


def test_no_raw_dict_or_json_dump_is_visible(page):
    page.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    text = page.execute_script("return document.body.innerText")
    found = re.search(r".{0,60}(\{'|\":).{0,60}", text)
    assert found is None, found.group(0)
    assert "Verdict: FAIL" in text and "Legend" in text


def test_the_print_stylesheet_applies(page):
    style = "return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]]"
    assert page.execute_script(style, "body", "fontSize") != "12px"
    emulate_print(page)
    try:
        assert page.execute_script(style, "body", "fontSize") == "12px"  # 9pt
        assert page.execute_script(style, "tr", "breakInside") == "avoid"
        page.execute_script("document.querySelectorAll('details').forEach(d => d.open = false);"
                            "window.dispatchEvent(new Event('beforeprint'))")
        assert page.execute_script("return document.querySelectorAll('details:not([open])').length") == 0
        page.set_window_size(718, 1000)  # an A4 page's printable width (210 - 2 x 12 mm) at 96 dpi
        width = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        scrolled, visible = page.execute_script(width)
        assert scrolled <= visible, "something is wider than an A4 page: it would be cut when printed"
    finally:
        page.set_window_size(1280, 900)
        emulate_print(page, False)
    page.execute_script("document.querySelectorAll('details').forEach(d => d.open = false)")
    pdf = base64.b64decode(page.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    assert pdf.startswith(b"%PDF") and re.search(rb"/MediaBox \[0 0 59[45]\.\d+ 84[12]\.\d+\]", pdf)  # A4
    assert page.execute_script("return document.querySelectorAll('details[open]').length") == 0  # afterprint
