"""The whole office day in a real headless Chromium, against real processes (sandbox,
webhook receiver, worker): a citizen signs up on the form and confirms from WhatsApp; a
redattrice composes and submits; an approvatore approves and sends; the progress bar
reaches 100%; the message is in the public archive and its feed; protezione civile sends an
emergency alone; another comune's operator sees none of it. Every page on the way is
screenshotted and checked by axe-core, with no error in the browser's console."""

import urllib.request

import pytest
from django.contrib.auth import get_user_model
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.core.models import AuditEvent, Operator
from banditore.subscribers.models import Subscriber
from tests.browser import DESKTOP, assert_accessible, console_errors, log_in, screen, screenshot
from tests.e2e.conftest import Phone
from tests.factories import make_comune, subscribe
from tests.public.helpers import press, send_the_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Pordenone-Noncello-2026"
R = Operator.Role
B = Broadcast.Status


def member(org, username, role):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Operator.objects.create(user=user, organization=org, role=role)
    return user


def enter(driver, base: str, username: str) -> None:
    # log_in only presses Enter: wait for the answer, or the next get() races the login.
    log_in(driver, base, username, PASSWORD)
    WebDriverWait(driver, 10).until(lambda d: "/accesso/" not in d.current_url)


def check(driver, name: str) -> None:
    screenshot(driver, f"scenario-{name}")
    assert_accessible(driver, name)
    assert console_errors(driver) == [], name


def log_out(driver) -> None:
    press(driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/esci/'] button"))
    WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.ID, "id_username")))


def compose(driver, base: str, title: str, text: str, button: str, priority=None) -> Broadcast:
    driver.get(f"{base}/console/messaggi/nuovo/")
    driver.find_element(By.ID, "id_title").send_keys(title)
    driver.find_element(By.ID, "id_text").send_keys(text)
    if priority is not None:
        Select(driver.find_element(By.ID, "id_priority")).select_by_value(str(priority))
    check(driver, f"compose-{button}")
    press(driver, driver.find_element(By.ID, button))
    WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.ID, "state")))
    return Broadcast.objects.get(title=title)


def act(driver, button: str) -> None:
    page = driver.find_element(By.TAG_NAME, "html")
    press(driver, driver.find_element(By.ID, button))
    WebDriverWait(driver, 10).until(ec.staleness_of(page))


def wait_for_full_bar(driver, timeout: float = 40) -> None:
    # The bar is polled by htmx every 2 s: it must get there by itself, without a reload.
    # htmx swaps the bar between finding it and reading it: a stale one is looked up again.
    WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: d.find_element(By.ID, "progress-bar").get_attribute("value") == "100"
    )


def test_a_day_at_the_press_office(browser, live_server, comune, running):
    base = live_server.url
    wait = WebDriverWait(browser, 15)
    screen(browser, DESKTOP)
    comune.require_broadcast_approval = True
    comune.save(update_fields=["require_broadcast_approval"])
    member(comune, "redattrice", R.EDITOR)
    member(comune, "approvatore", R.APPROVER)
    member(comune, "protezione", R.CIVIL_PROTECTION)
    other = make_comune(slug="sacile")
    member(other, "sacilese", R.APPROVER)
    dora = Phone(running, "+393331110005")
    subscribe(comune, dora.number)

    # A citizen signs up on the form, then confirms from their phone.
    anna = Phone(running, "+393339135528")
    browser.get(f"{base}/c/{comune.slug}/iscriviti")
    check(browser, "signup")
    browser.find_element(By.ID, "id_phone").send_keys("333 913 5528")
    browser.find_element(By.ID, "id_privacy").send_keys(Keys.SPACE)
    send_the_form(browser)
    code = wait.until(ec.visibility_of_element_located((By.CLASS_NAME, "code-value"))).text
    check(browser, "signup-confirmation")
    anna.write(f"ISCRIVIMI {code}")
    anna.wait_for_message("Benvenuto")
    assert Subscriber.objects.get(phone=anna.number).status == Subscriber.Status.ACTIVE

    # The redattrice composes and submits; she may not approve her own.
    enter(browser, base, "redattrice")
    news = compose(browser, base, "Mercato", "Giovedì *mercato* in piazza XX Settembre", "submit")
    assert news.status == B.SUBMITTED
    assert not browser.find_elements(By.ID, "do-approve")
    check(browser, "submitted")
    log_out(browser)

    # The approvatore approves and sends; the bar fills as the worker and receipts go.
    enter(browser, base, "approvatore")
    check(browser, "dashboard")
    browser.get(f"{base}/console/messaggi/{news.pk}/")
    act(browser, "do-approve")
    assert Broadcast.objects.get(pk=news.pk).status == B.APPROVED
    act(browser, "do-send")
    # The shell shows the page's messages once; a page of its own must not repeat them.
    assert len(browser.find_elements(By.CSS_SELECTOR, "main .alert")) == 1
    wait_for_full_bar(browser)
    check(browser, "sent")
    dora.wait_for_message("Giovedì")
    anna.wait_for_message("Giovedì")
    news.refresh_from_db()
    assert news.audience_size == 2
    assert not news.deliveries.filter(status__in=["queued", "sending", "failed"]).exists()
    log_out(browser)

    # It is in the public archive and in its feed.
    browser.get(f"{base}/c/{comune.slug}/archivio/")
    check(browser, "archive")
    assert browser.find_element(By.CSS_SELECTOR, f"a[href$='/archivio/{news.pk}/']")
    browser.get(f"{base}/c/{comune.slug}/archivio/{news.pk}/")
    assert "piazza XX Settembre" in browser.find_element(By.TAG_NAME, "main").text
    check(browser, "archive-message")
    with urllib.request.urlopen(f"{base}/c/{comune.slug}/archivio/rss/", timeout=10) as feed:
        rss = feed.read().decode()
    assert "piazza XX Settembre" in rss and f"/archivio/{news.pk}/" in rss

    # Protezione civile sends an emergency without a second person.
    enter(browser, base, "protezione")
    alert = compose(
        browser, base, "Esondazione", "Evitate i sottopassi", "save", Priority.EMERGENCY
    )
    assert alert.status == B.DRAFT
    act(browser, "do-send-alone")
    wait_for_full_bar(browser)
    check(browser, "emergency-sent")
    alert.refresh_from_db()
    assert alert.review_required and alert.audience_size == 2
    assert AuditEvent.objects.filter(action__contains="sent_alone").exists()
    dora.wait_for_message("sottopassi")
    log_out(browser)

    # Another comune's operator sees none of it.
    enter(browser, base, "sacilese")
    dashboard = browser.find_element(By.TAG_NAME, "main").text
    assert "Mercato" not in dashboard and "Esondazione" not in dashboard
    check(browser, "other-dashboard")
    browser.get(f"{base}/console/messaggi/")
    listing = browser.find_element(By.TAG_NAME, "main").text
    assert "Mercato" not in listing and "Esondazione" not in listing
    check(browser, "other-broadcasts")
    for pk in (news.pk, alert.pk):
        browser.get(f"{base}/console/messaggi/{pk}/")
        assert "piazza" not in browser.page_source and "sottopassi" not in browser.page_source
    browser.get(f"{base}/c/{other.slug}/archivio/")
    assert "Mercato" not in browser.find_element(By.TAG_NAME, "main").text
    assert not Delivery.objects.filter(broadcast__organization=other).exists()
