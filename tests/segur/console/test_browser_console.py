"""The console in a real browser (Debian's headless Chromium driven by selenium, one session for the module),
as a user sees it: a DMP submission made during the test appears in the live view within seconds, opening
it shows the findings and the document's offending line highlighted; the world lists a CNDA persona; the
Validate page shows an uploaded broken document's finding. Skipped outside CI when Chromium is missing;
under CI=true a missing Chromium fails (`.ci/run` installs chromium and chromium-driver).

With SEGUR_CONSOLE_SCREENSHOTS=DIR the module first runs a small proof into the console's evidence folder,
sends a message, and saves a screenshot of each page in DIR (docs/console.md shows them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from segur.fixtures.documents import build_cr_img_n1
from segur.scenarios.evidence_pack.browser import start_chromium
from segur.scenarios.proof import run_proof

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]

SHOTS = os.environ.get("SEGUR_CONSOLE_SCREENSHOTS", "")
WAIT_S = 5.0


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("console-chromium"), width=1400, height=1000)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def base(stack, console, send_mail, mail, world, radiologist):
    """The console's URL; in screenshot mode, after a small proof and a message have filled the stack."""
    if SHOTS:
        run_proof("reference-ris", "RIS", console.evidence_dir / "reference-ris", size="small",
                  progress=False, stack=stack)
        other = next(p for p in world.professionals if p.mailbox and p.mailbox != radiologist.mailbox)
        cda = build_cr_img_n1(world.patients[0], radiologist, world.organisation_of(radiologist))
        send_mail(mail(radiologist.mailbox, other.mailbox, [cda]))
    return stack.endpoints()["console"]["console"]


def _shot(browser, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        height = min(browser.execute_script("return document.body.scrollHeight"), 2400)
        browser.set_window_size(1400, max(height, 700))
        browser.save_screenshot(str(Path(SHOTS) / f"console-{name}.png"))
        browser.set_window_size(1400, 1000)


def _wait_for(browser, script: str, *args):
    return WebDriverWait(browser, WAIT_S, poll_frequency=0.1).until(lambda d: d.execute_script(script, *args))


def test_a_dmp_submission_shows_in_the_live_view_and_opens_with_its_findings_and_line(browser, base, submit,
                                                                                      patients):
    browser.get(base + "activity")
    assert browser.find_element("css selector", "table#activity")
    uid = submit(patients[0], raw_body="not base64 !!")
    row_text = _wait_for(browser, """return Array.from(document.querySelectorAll('#activity tbody tr'))
        .map(r => r.innerText).find(t => t.includes(arguments[0]));""", uid)
    assert "ITI-41" in row_text and "SEGUR-BODY-002" in row_text
    _shot(browser, "activity")
    browser.execute_script("""Array.from(document.querySelectorAll('#activity tbody tr'))
        .find(r => r.innerText.includes(arguments[0])).click();""", uid)
    _wait_for(browser, "return document.querySelector('table.findings') !== null")
    assert "SEGUR-BODY-002" in browser.find_element("css selector", "table.findings").text
    _shot(browser, "exchange")
    browser.find_element("css selector", f"a[href='/documents/{uid}']").click()
    _wait_for(browser, "return document.querySelector('.source li.hit') !== null")
    hit = browser.find_element("css selector", ".source li.hit")
    assert "representation" in hit.text or "text" in hit.text
    assert browser.execute_script("return getComputedStyle(arguments[0]).backgroundColor", hit) != \
        "rgba(0, 0, 0, 0)"
    pane_scrolled = browser.execute_script("return document.querySelector('.source').scrollTop")
    assert pane_scrolled > 0  # the source pane opens on the first finding's line
    assert "SEGUR-BODY-002" in browser.find_element("css selector", "table.findings").text
    assert "Custodian" in browser.find_element("css selector", "section.rendered").text
    _shot(browser, "document")


def test_the_world_page_lists_a_cnda_persona(browser, base, world):
    persona = next(p for p in world.patients if p.key.startswith("cnda-"))
    browser.get(base + "world")
    rows = browser.execute_script("""return Array.from(document.querySelectorAll('table.patients tbody tr'))
        .map(r => r.innerText).filter(t => t.includes('CNDA persona'));""")
    assert any(persona.ins in row for row in rows)
    _shot(browser, "world")


def test_the_validate_page_shows_an_uploaded_broken_documents_finding(browser, base, world, radiologist,
                                                                      tmp_path):
    broken = tmp_path / "broken-report.xml"
    broken.write_bytes(build_cr_img_n1(world.patients[1], radiologist, world.organisation_of(radiologist),
                                       raw_body="not base64 !!"))
    browser.get(base + "validate")
    browser.find_element("id", "file").send_keys(str(broken))
    browser.find_element("id", "validate-button").click()
    _wait_for(browser, "return document.querySelector('section.result table.findings') !== null")
    result = browser.find_element("css selector", "section.result").text
    assert "INVALID" in result and "SEGUR-BODY-002" in result and "broken-report.xml" in result
    _shot(browser, "validate")


def test_the_other_pages_render(browser, base):
    for page, selector in (("documents", "h1"), ("mailboxes", "h1"), ("faults", "section.service"),
                           ("runs", "h1")):
        browser.get(base + page)
        assert browser.find_element("css selector", selector).is_displayed()
        _shot(browser, page)
    if SHOTS:
        browser.get(base + "mailboxes")
        links = browser.find_elements("css selector", "table a")
        if links:
            links[0].click()
            browser.find_element("css selector", "table a[href^='/messages/']").click()
            _shot(browser, "message")
