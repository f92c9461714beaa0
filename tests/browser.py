"""Driving Debian's Chromium headless through selenium, for the tests of the web pages.

`browser` (the fixture, in tests/conftest.py) is a fresh Chromium per test, Italian as an
Italian phone asks. Helpers: `screen` sets a desktop or phone-sized screen, `screenshot`
keeps the whole page as a PNG among the test artefacts (var/test-artefacts/screenshots, for
a human to look at), `assert_accessible` runs axe-core (vendored in tests/vendor) on the page
and fails on any violation of WCAG 2.1 level A or AA, `fits_the_screen` checks reflow,
`log_in` opens the console as a staff member.

Without Chromium and its driver the browser tests are skipped, saying so; under CI (the CI
variable set) they fail instead, because .ci/run installs both."""

import os
import shutil
from base64 import b64decode
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / "var" / "test-artefacts" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

DESKTOP = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def start_browser(profile: Path, language: str = "it-IT,it"):
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium and chromedriver (.ci/run installs them)")
        pytest.skip("needs Chromium and its driver: apt-get install chromium chromium-driver")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--lang={language.split(',')[0]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    return driver


def screen(driver, metrics: dict) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    # Kept for fits_the_screen: on a phone Chromium widens the layout to what sticks out.
    driver.screen_width = metrics["width"]


def screenshot(driver, name: str, part_height: int = 1600) -> list[Path]:
    """The whole page, not just the part on screen; a long page in parts a person can read."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    width, height = size["width"], size["height"]
    parts = max(1, -(-int(height) // part_height))
    paths = []
    for n in range(parts):
        top = n * part_height
        clip = {"x": 0, "y": top, "width": width, "height": min(part_height, height - top)}
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}},
        )
        suffix = f"-{n + 1}" if parts > 1 else ""
        path = ARTEFACTS / f"{name}{suffix}.png"
        path.write_bytes(b64decode(shot["data"]))
        paths.append(path)
    return paths


def fits_the_screen(driver) -> bool:
    """WCAG 1.4.10 reflow: no sideways scrolling, measured against the screen set by
    `screen()` (window.innerWidth grows with the overflow on an emulated phone)."""
    width = getattr(driver, "screen_width", None) or driver.execute_script(
        "return window.innerWidth"
    )
    return driver.execute_script("return document.documentElement.scrollWidth") <= width


def axe_violations(driver) -> list[dict]:
    """axe-core's violations of WCAG 2.1 A and AA on the page as it is now."""
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', help: String(e),"
        " nodes: []}]));",
        WCAG_AA,
    )
    return result


def assert_accessible(driver, page: str) -> None:
    violations = axe_violations(driver)
    if violations:
        lines = [
            f"{v['id']} ({v.get('impact')}): {v['help']} — "
            + "; ".join(n.get("target", [""])[0] if n.get("target") else "" for n in v["nodes"][:5])
            for v in violations
        ]
        raise AssertionError(f"axe-core on {page}:\n" + "\n".join(lines))


def console_errors(driver) -> list[str]:
    """What the page's console logged as errors: a Content-Security-Policy refusal shows
    here, and nowhere else."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def log_in(driver, base_url: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{base_url}/console/accesso/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password, Keys.ENTER)
    # The next page must not race the login's answer: wait until it has left the login page
    # (or shows why not).
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(
        lambda d: (
            "/console/accesso/" not in d.current_url
            or d.find_elements(By.CSS_SELECTOR, ".alert-danger, .invalid-feedback")
        )
    )
