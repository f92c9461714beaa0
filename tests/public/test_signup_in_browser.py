"""A person signs up in a real headless Chromium, on a desktop and on a phone-sized screen.

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package; skipped, saying
so, when they are missing. Screenshots land in /tmp/banditore-*.png for a human to look at.
"""

import shutil
from base64 import b64decode
from pathlib import Path

import pytest

from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import make_comune

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SHOTS = Path("/tmp")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Chromium and its driver: apt-get install chromium chromium-driver",
    ),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="needs the selenium package")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DESKTOP = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}


@pytest.fixture
def browser(tmp_path):
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
        "--lang=it-IT",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    # As an Italian phone would ask; the texts are Italian once the catalogue is compiled.
    options.add_experimental_option("prefs", {"intl.accept_languages": "it-IT,it"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def screen(driver, metrics: dict) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def screenshot(driver, name: str, part_height: int = 1600) -> list[Path]:
    """The whole page, not just the part on screen; a long page in parts a person can read."""
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
        path = SHOTS / f"banditore-{name}{suffix}.png"
        path.write_bytes(b64decode(shot["data"]))
        paths.append(path)
    return paths


def fits_the_screen(driver) -> bool:
    """WCAG 1.4.10 reflow: no sideways scrolling."""
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def sign_up_like_a_person(driver, url: str, typed_number: str, name: str) -> str:
    """Make the usual mistake first, then fill the form; the confirmation page's code."""
    wait = WebDriverWait(driver, 15)
    driver.get(url)
    screenshot(driver, f"form-{name}")
    assert fits_the_screen(driver)

    # The first Tab reaches the skip link.
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("class") == "skip-link"

    driver.find_element(By.ID, "id_phone").send_keys(typed_number)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    summary = wait.until(ec.visibility_of_element_located((By.ID, "errori")))
    assert summary.find_element(By.CSS_SELECTOR, "a[href='#id_privacy']")
    assert driver.find_element(By.ID, "id_privacy").get_attribute("aria-invalid") == "true"
    # What was typed is still there.
    assert driver.find_element(By.ID, "id_phone").get_attribute("value") == typed_number
    screenshot(driver, f"form-errors-{name}")
    assert fits_the_screen(driver)

    driver.find_element(By.XPATH, "//label[normalize-space()='Viabilità']").click()
    driver.find_element(By.ID, "id_privacy").click()
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    code = wait.until(ec.visibility_of_element_located((By.CLASS_NAME, "code-value"))).text
    qr = driver.find_element(By.CSS_SELECTOR, ".qr svg.qr-code")
    assert qr.is_displayed()
    assert qr.size["width"] >= 150 and qr.size["width"] == qr.size["height"]
    link = driver.find_element(By.CSS_SELECTOR, "a.btn-whatsapp").get_attribute("href")
    assert link == f"https://wa.me/390510000001?text=ISCRIVIMI%20{code}"
    screenshot(driver, f"confirmation-{name}")
    assert fits_the_screen(driver)
    return code


def test_it_signs_up_from_a_desktop_and_from_a_phone(browser, live_server, transactional_db):
    org = make_comune()

    screen(browser, DESKTOP)
    code = sign_up_like_a_person(
        browser, f"{live_server.url}/iscriviti", " 333.913 5528 ", "desktop"
    )

    subscriber = Subscriber.objects.get(organization=org)
    assert subscriber.phone == "+393339135528"
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.confirmation_code == code
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["viabilita"]
    event = ConsentEvent.objects.get(subscriber=subscriber)
    assert event.source == ConsentEvent.Source.WEB
    assert "Chrome" in event.user_agent

    screen(browser, PHONE)
    code = sign_up_like_a_person(
        browser, f"{live_server.url}/c/{org.slug}/iscriviti", "0039 331 651 1331", "phone"
    )
    assert Subscriber.objects.get(phone="+393316511331").confirmation_code == code

    browser.get(f"{live_server.url}/privacy")
    assert browser.find_element(By.CSS_SELECTOR, ".version").text.endswith(
        org.privacy_notice_version
    )
    screenshot(browser, "privacy-phone")
    assert fits_the_screen(browser)
