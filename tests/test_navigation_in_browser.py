"""The page shell's navigation: on a desktop the sections are in the bar; on a 390 px phone
they hide behind Bootstrap Italia's menu button, which opens and closes them."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import DESKTOP, PHONE, assert_accessible, log_in, screen, screenshot
from tests.factories import make_comune

pytestmark = pytest.mark.browser


def test_the_sections_fold_behind_a_menu_button_on_a_phone(browser, live_server, transactional_db):
    from django.contrib.auth import get_user_model

    from banditore.core.models import Operator

    user = get_user_model().objects.create_user("approvatore", password="Pordenone-2026!")
    Operator.objects.create(user=user, organization=make_comune(), role=Operator.Role.APPROVER)
    log_in(browser, live_server.url, "approvatore", "Pordenone-2026!")
    sections = (By.CSS_SELECTOR, "#nav-principale .nav-link")
    toggler = (By.CSS_SELECTOR, ".custom-navbar-toggler")

    screen(browser, DESKTOP)
    browser.get(f"{live_server.url}/console/")
    assert not browser.find_element(*toggler).is_displayed()
    assert all(link.is_displayed() for link in browser.find_elements(*sections))

    screen(browser, PHONE)
    browser.get(f"{live_server.url}/console/")
    assert not any(link.is_displayed() for link in browser.find_elements(*sections))
    browser.find_element(*toggler).click()
    wait = WebDriverWait(browser, 5)
    wait.until(ec.visibility_of_element_located(sections))
    # The panel slides in: wait until the first section sits inside the screen.
    first = browser.find_element(*sections)
    wait.until(lambda _: first.rect["x"] >= 0)
    assert browser.find_element(*toggler).get_attribute("aria-expanded") == "true"
    screenshot(browser, "console-phone-menu-open")
    assert_accessible(browser, "console-phone-menu-open")
    browser.find_element(By.CSS_SELECTOR, "#nav-principale .close-menu").click()
    wait.until(ec.invisibility_of_element_located(sections))
