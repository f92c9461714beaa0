"""A person signs up in a real headless Chromium, on a desktop and on a phone-sized screen.

Uses the shared harness in tests/browser.py (skipped, saying so, without Chromium);
screenshots land among the test artefacts for a human to look at.
"""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.browser import DESKTOP, PHONE, fits_the_screen, screen, screenshot
from tests.factories import make_comune
from tests.public.helpers import press, send_the_form

pytestmark = pytest.mark.browser


def sign_up_like_a_person(driver, url: str, typed_number: str, name: str) -> str:
    """Make the usual mistake first, then fill the form; the confirmation page's code."""
    wait = WebDriverWait(driver, 15)
    driver.get(url)
    screenshot(driver, f"form-{name}")
    assert fits_the_screen(driver)

    # The first Tab reaches the skip link.
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    skip = driver.switch_to.active_element
    assert skip.get_attribute("href").endswith("#contenuto")
    assert skip.find_element(By.XPATH, "..").get_attribute("class") == "skiplink"

    driver.find_element(By.ID, "id_phone").send_keys(typed_number)
    send_the_form(driver)
    summary = wait.until(ec.visibility_of_element_located((By.ID, "errori")))
    assert summary.find_element(By.CSS_SELECTOR, "a[href='#id_privacy']")
    assert driver.find_element(By.ID, "id_privacy").get_attribute("aria-invalid") == "true"
    # What was typed is still there.
    assert driver.find_element(By.ID, "id_phone").get_attribute("value") == typed_number
    screenshot(driver, f"form-errors-{name}")
    assert fits_the_screen(driver)

    press(driver, driver.find_element(By.XPATH, "//label[normalize-space()='Viabilità']"))
    driver.find_element(By.ID, "id_privacy").send_keys(Keys.SPACE)
    send_the_form(driver)

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
    version = browser.find_element(By.CSS_SELECTOR, ".version strong").text
    assert version.endswith(f" {org.privacy_notice_version}")
    screenshot(browser, "privacy-phone")
    assert fits_the_screen(browser)
