"""Headless Chromium driven by selenium, to look at an evidence pack the way a reviewer does: the browser
tests (tests/scenarios/test_browser_evidence_pack.py) and the screenshots of docs/evidence.md
(`python -m segur.scenarios.evidence_pack.browser PACK_DIR docs/img`) use it.

Debian's `chromium` and `chromium-driver` packages (`.ci/run` installs them in CI); the flags below are the
ones that run in a container without a display, a sandbox or a network.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

try:  # selenium is a test extra (pip install -e '.[test]'): without it the pack is still built, not browsed
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover
    webdriver = Service = By = None

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")


def chromium_paths() -> tuple[str | None, str | None]:
    """The browser and its driver, when installed."""
    return (shutil.which("chromium") or shutil.which("chromium-browser"),
            shutil.which("chromedriver") or shutil.which("chromium-driver"))


def start_chromium(profile_dir: str | Path, width: int = 1280, height: int = 900):
    """A selenium driver on a fresh headless Chromium profile in `profile_dir`."""
    if webdriver is None:
        raise RuntimeError("selenium is not installed: pip install -e '.[test]'")
    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def emulate_print(driver, enabled: bool = True) -> None:
    """Applies the page's print stylesheet on screen (Chrome DevTools Protocol)."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print" if enabled else ""})


#: the parts of a pack docs/evidence.md shows: file name → CSS selector of the element pictured
SHOTS = {"evidence-banner.png": "#verdict", "evidence-legend.png": "dl.legend",
         "evidence-exchanges.png": "h3[id^=task-] ~ table",
         "evidence-document.png": "details.doc table.cda-header",
         "evidence-findings.png": "table.findings"}


def screenshots(pack: Path, out: Path, shots: dict[str, str] = SHOTS) -> list[Path]:
    """PNGs of parts of a pack's index.html (the first element each selector finds; none if absent)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="segur-chromium-") as profile:
        driver = start_chromium(profile, 1280, 900)
        try:
            driver.get((pack / "index.html").resolve().as_uri())
            for name, selector in shots.items():
                found = driver.find_elements(By.CSS_SELECTOR, selector)
                if found:
                    driver.execute_script("arguments[0].scrollIntoView(true);", found[0])
                    found[0].screenshot(str(out / name))
                    written.append(out / name)
        finally:
            driver.quit()
    return written


if __name__ == "__main__":  # pragma: no cover - a helper for the docs' screenshots
    # python -m segur.scenarios.evidence_pack.browser PACK OUT [name=selector …]
    chosen = dict(arg.split("=", 1) for arg in sys.argv[3:]) or SHOTS
    for path in screenshots(Path(sys.argv[1]), Path(sys.argv[2]), chosen):
        print(path, path.stat().st_size)
