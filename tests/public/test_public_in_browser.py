"""The public pages in a real headless Chromium, on a desktop and on a phone: each one
screenshotted, free of WCAG 2.1 A/AA violations (axe-core), free of console errors (a
Content-Security-Policy refusal would show there) and without sideways scrolling."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    console_errors,
    fits_the_screen,
    screen,
    screenshot,
)
from tests.factories import make_comune
from tests.public.archive_data import broadcast
from tests.public.helpers import send_the_form

pytestmark = pytest.mark.browser


def check(driver, url: str, name: str) -> None:
    driver.get(url)
    driver.find_element(By.TAG_NAME, "h1")
    screenshot(driver, f"public-{name}")
    assert fits_the_screen(driver), f"{name} scrolls sideways"
    assert_accessible(driver, name)
    errors = console_errors(driver)
    assert errors == [], (name, errors)


def test_the_public_pages_work_on_a_desktop_and_on_a_phone(browser, live_server, transactional_db):
    org = make_comune()
    for n in range(25):
        broadcast(org, f"Avviso numero {n}: la strada resta chiusa.", topics=["viabilita"], ago=n)
    message = broadcast(
        org,
        "Allerta meteo arancione per domani.\nScuole chiuse, evitare i sottopassi.\n"
        "Informazioni: https://comune.example/allerta-meteo-arancione-per-domani-molto-lunga",
        topics=["protezione-civile", "viabilita"],
        title="Allerta meteo arancione",
    )
    base = live_server.url
    pages = {
        "home": f"{base}/",
        "archive": f"{base}/archivio/",
        "archive-search": f"{base}/archivio/?q=strada&argomento=viabilita&pagina=2",
        "message": f"{base}/archivio/{message.pk}/",
        "signup": f"{base}/iscriviti",
        "privacy": f"{base}/privacy",
        "org-home": f"{base}/c/{org.slug}/",
    }
    for size, metrics in (("desktop", DESKTOP), ("phone", PHONE)):
        screen(browser, metrics)
        for name, url in pages.items():
            check(browser, url, f"{name}-{size}")


def test_the_signup_errors_and_the_confirmation_page_are_accessible(
    browser, live_server, transactional_db
):
    make_comune()
    for size, metrics in (("desktop", DESKTOP), ("phone", PHONE)):
        screen(browser, metrics)
        browser.get(f"{live_server.url}/iscriviti")
        send_the_form(browser)
        WebDriverWait(browser, 15).until(ec.visibility_of_element_located((By.ID, "errori")))
        screenshot(browser, f"public-signup-errors-{size}")
        assert_accessible(browser, f"signup-errors-{size}")
        assert fits_the_screen(browser)

        browser.find_element(By.ID, "id_phone").send_keys(
            "333 913 55" + ("28" if size == "desktop" else "29")
        )
        browser.find_element(By.ID, "id_privacy").send_keys(Keys.SPACE)
        send_the_form(browser)
        WebDriverWait(browser, 15).until(
            ec.visibility_of_element_located((By.CLASS_NAME, "code-value"))
        )
        screenshot(browser, f"public-confirmation-{size}")
        assert_accessible(browser, f"confirmation-{size}")
        assert fits_the_screen(browser)
        assert console_errors(browser) == []
