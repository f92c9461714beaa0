"""The sandbox's phone page on a 390 px phone with thousands of conversations: one page of
the list, nothing scrolls sideways, a conversation opens from the list."""

import json
import urllib.request

import pytest

from tests import processes
from tests.browser import PHONE, fits_the_screen, screen, screenshot

pytestmark = pytest.mark.browser
CONVERSATIONS = 2000


@pytest.fixture
def sandbox_url():
    with processes.sandbox("", "--log-level", "WARNING") as url:
        yield url


def write(url: str, sender: str, text: str) -> None:
    body = json.dumps({"from": sender, "text": text}).encode()
    request = urllib.request.Request(
        f"{url}/_sandbox/inbound", data=body, headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=5).read()


def test_the_phone_page_fits_a_phone_with_thousands_of_conversations(browser, sandbox_url):
    for n in range(CONVERSATIONS):
        write(sandbox_url, f"+39333{n:07d}", "ISCRIVIMI")
    screen(browser, PHONE)
    browser.get(f"{sandbox_url}/_sandbox/")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    contacts = browser.find_elements(By.CSS_SELECTOR, "#contacts a.contact")
    assert len(contacts) == 50
    assert f"{CONVERSATIONS} conversazioni" in browser.find_element(By.ID, "contacts-count").text
    assert fits_the_screen(browser)
    screenshot(browser, "sandbox-phone-page")

    browser.execute_script("arguments[0].scrollIntoView({behavior: 'instant'})", contacts[3])
    chosen = contacts[3].get_attribute("data-number")
    contacts[3].click()
    WebDriverWait(browser, 10).until(lambda d: chosen in d.find_element(By.ID, "chat-title").text)
    assert f"con={chosen.replace('+', '%2B')}" in browser.current_url
    assert fits_the_screen(browser)
