"""Every console page in a real headless Chromium: a screenshot kept among the test
artefacts, axe-core's WCAG 2.1 A/AA check, no error in the browser's console (a refused
script or style shows only there) and no sideways scrolling; the main pages again on a
390 px phone.

One test walks all the pages in one browser session: a Chromium per page would cost a
second or more each. Problems are collected and reported together, so one run shows
everything to fix."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Actor
from banditore.broadcasts.models import Broadcast, Priority
from banditore.core.models import Operator
from banditore.subscribers.models import Subscriber
from banditore.webhooks.models import InboundMessage
from tests.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    console_errors,
    fits_the_screen,
    log_in,
    screen,
    screenshot,
)
from tests.factories import make_comune, subscribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Pordenone-Noncello-2026"
R = Operator.Role
B = Broadcast.Status


def member(org, username, role, **extra):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Operator.objects.create(user=user, organization=org, role=role, **extra)
    return user


def enter(driver, base: str, username: str) -> None:
    # log_in only presses Enter: wait for the answer, or what follows races the login.
    log_in(driver, base, username, PASSWORD)
    WebDriverWait(driver, 10).until(lambda d: "/accesso/" not in d.current_url)


def code_of(device) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:0{device.digits}d}"


def an_office():
    """A comune with subscribers, what they wrote, staff, and broadcasts in each state."""
    org = make_comune()
    org.require_broadcast_approval = True
    org.save(update_fields=["require_broadcast_approval"])
    people = [subscribe(org, f"+39333100000{n}", topics=["viabilita"]) for n in range(1, 4)]
    channel = org.channels.get()
    now = timezone.now()
    for n, text in enumerate(["Buongiorno, a che ora apre l'anagrafe?", "Grazie"]):
        InboundMessage.objects.create(
            organization=org,
            channel=channel,
            subscriber=people[0],
            sender=people[0].phone,
            wamid=f"wamid.pages.{n}",
            type="text",
            text=text,
            sent_at=now - timedelta(minutes=5 - n),
            handling=InboundMessage.Handling.POINTER,
        )
    admin = member(org, "sindaca", R.ADMIN)
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    member(org, "nuova", R.ADMIN)
    editor = member(org, "redattrice", R.EDITOR)
    by_editor, by_admin = Actor.for_user(editor), Actor.for_user(admin)

    def draft(title, **extra):
        return lifecycle.create(
            org, by_editor, title=title, text=f"{title}: via Roma *chiusa* domani", **extra
        )

    states = {"draft": draft("Lavori")}
    states["submitted"] = lifecycle.submit(draft("Mercato"), by_editor)
    sending = lifecycle.approve(lifecycle.submit(draft("Allerta"), by_editor), by_admin)
    states["sending"] = lifecycle.send(sending, by_admin)
    states["cancelled"] = lifecycle.cancel(draft("Sagra"), by_editor)
    states["emergency"] = draft("Esondazione", priority=Priority.EMERGENCY)
    assert states["sending"].status == B.SENDING
    return org, device, people, editor, states


class Walk:
    """Opens pages and notes what is wrong with each, without stopping at the first."""

    def __init__(self, driver, base_url):
        self.driver = driver
        self.base = base_url
        self.problems: list[str] = []
        self.seen: list[str] = []
        self.width = DESKTOP["width"]

    def check(self, name: str) -> None:
        driver = self.driver
        self.seen.append(name)
        screenshot(driver, f"console-{name}")
        try:
            assert_accessible(driver, name)
        except AssertionError as exc:
            self.problems.append(str(exc))
        errors = console_errors(driver)
        if errors:
            self.problems.append(f"console errors on {name}: {errors}")
        # Under phone emulation Chromium widens the layout viewport to fit what overflows,
        # so fits_the_screen alone passes a page wider than the phone: check the width too.
        wide = driver.execute_script("return document.documentElement.scrollWidth")
        if not fits_the_screen(driver) or wide > self.width:
            self.problems.append(f"{name} scrolls sideways ({wide} px on {self.width})")

    def screen(self, metrics: dict) -> None:
        screen(self.driver, metrics)
        self.width = metrics["width"]

    def open(self, path: str, name: str, expect_id: str | None = None) -> None:
        self.driver.get(self.base + path)
        if self.driver.current_url != self.base + path:
            self.problems.append(f"{name} ({path}) went to {self.driver.current_url}")
        # A refusal (403, 404) is Django's bare page, without the shell's <main>.
        if not self.driver.find_elements(By.CSS_SELECTOR, "main#contenuto h1"):
            self.problems.append(f"{name} ({path}) is not a console page: {self.driver.title!r}")
        if expect_id and not self.driver.find_elements(By.ID, expect_id):
            self.problems.append(f"{name} ({path}) has no #{expect_id}: {self.driver.title!r}")
        self.check(name)


def test_every_console_page_is_accessible_on_a_desktop_and_a_phone(browser, live_server, tmp_path):
    org, device, people, editor, states = an_office()
    walk = Walk(browser, live_server.url)

    walk.screen(PHONE)
    walk.open("/console/accesso/", "login-phone", "id_username")
    walk.screen(DESKTOP)
    walk.open("/console/accesso/", "login", "id_username")

    # An amministratore without a device must enrol before any page.
    enter(browser, live_server.url, "nuova")
    assert "/console/verifica/attiva/" in browser.current_url
    walk.check("otp-enrol")
    browser.delete_all_cookies()

    enter(browser, live_server.url, "sindaca")
    assert "/console/verifica/" in browser.current_url
    walk.check("otp-verify")
    browser.find_element(By.ID, "id_code").send_keys(code_of(device), Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: "/verifica/" not in d.current_url)
    assert browser.current_url.rstrip("/").endswith("/console")

    draft = states["draft"].pk
    pages = [
        ("/console/", "dashboard", None),
        ("/console/messaggi/", "broadcasts", None),
        ("/console/messaggi/nuovo/", "compose", "id_text"),
        (f"/console/messaggi/{draft}/", "broadcast-draft", None),
        (f"/console/messaggi/{draft}/modifica/", "broadcast-edit", "id_text"),
        (f"/console/messaggi/{states['submitted'].pk}/", "broadcast-submitted", "do-approve"),
        (f"/console/messaggi/{states['sending'].pk}/", "broadcast-sending", "progress-bar"),
        (f"/console/messaggi/{states['cancelled'].pk}/", "broadcast-cancelled", None),
        (f"/console/messaggi/{states['emergency'].pk}/", "broadcast-emergency", None),
        (f"/console/messaggi/{draft}/annulla/", "broadcast-cancel", "confirm-cancel"),
        ("/console/iscritti/", "subscribers", None),
        (f"/console/iscritti/{people[0].pk}/", "subscriber", None),
        (f"/console/iscritti/{people[0].pk}/cancella/", "subscriber-erase", None),
        ("/console/messaggi-ricevuti/", "inbound", None),
        ("/console/impostazioni/", "settings", None),
        ("/console/utenti/", "users", None),
        ("/console/utenti/nuovo/", "user-add", "id_username"),
        (f"/console/utenti/{editor.operator.pk}/", "user-change", None),
        (f"/console/utenti/{editor.operator.pk}/disattiva/", "user-deactivate", None),
        ("/console/registro/", "audit", None),
        ("/console/iscritti/importa/", "import", "import-form"),
    ]
    for path, name, expect_id in pages:
        walk.open(path, name, expect_id)

    # The import's dry run: the plan is what the upload answers.
    csv = tmp_path / "iscritti.csv"
    csv.write_text("telefono;data consenso\n3339990001;2026-01-10\n3339990002;2026-01-11\n")
    browser.find_element(By.CSS_SELECTOR, "#import-form input[type=file]").send_keys(str(csv))
    browser.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()
    counted = WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.ID, "count-to-import"))
    walk.check("import-plan")
    assert counted[0].text == "2"

    walk.screen(PHONE)
    for path, name, _expect in pages:
        if name in {"dashboard", "broadcasts", "compose", "broadcast-sending", "subscribers"}:
            walk.open(path, f"{name}-phone")
    walk.open("/console/impostazioni/", "settings-phone")

    assert not walk.problems, "\n\n".join(walk.problems)
    # Opening the confirmation pages changed nothing.
    assert Broadcast.objects.get(pk=draft).status == B.DRAFT
    assert Subscriber.objects.get(pk=people[0].pk).phone == people[0].phone
    assert len(walk.seen) == len(pages) + 4 + 7
