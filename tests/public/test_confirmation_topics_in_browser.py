"""The confirmation page left open in a real Chromium notices by itself, by its light
poll, that the number has been proven, and then shows the topics and zone chosen."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from banditore.subscribers import service
from tests.browser import DESKTOP, screen, screenshot
from tests.factories import make_comune
from tests.public.helpers import make_zone, press, send_the_form

pytestmark = pytest.mark.browser


def test_the_open_page_shows_the_choices_once_the_code_arrives(
    browser, live_server, transactional_db
):
    org = make_comune()
    make_zone(org, "centro", "Centro storico")
    screen(browser, DESKTOP)
    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server.url}/iscriviti")
    browser.find_element(By.ID, "id_phone").send_keys("333 913 5528")
    press(browser, browser.find_element(By.XPATH, "//label[normalize-space()='Viabilità']"))
    Select(browser.find_element(By.ID, "id_zone")).select_by_visible_text("Centro storico")
    browser.find_element(By.ID, "id_privacy").send_keys(Keys.SPACE)
    send_the_form(browser)
    wait.until(ec.visibility_of_element_located((By.CLASS_NAME, "code-value")))
    assert not browser.find_elements(By.ID, "scelte")
    waiting_at = browser.current_url

    service.confirm_number(org, "+393339135528", evidence={"test": True})

    chosen = wait.until(ec.visibility_of_element_located((By.ID, "scelte")))
    # The same page, reloaded by itself: nobody pressed anything.
    assert browser.current_url == waiting_at
    topics = [li.text for li in chosen.find_elements(By.CSS_SELECTOR, ".chosen-topics li")]
    assert topics == ["Viabilità"]
    assert "Centro storico" in chosen.find_element(By.CLASS_NAME, "chosen-zone").text
    assert not browser.find_elements(By.CLASS_NAME, "code-value")
    screenshot(browser, "confirmation-proven-with-choices")
