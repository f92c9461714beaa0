"""The console's door: login in Italian whatever the browser prefers, throttled, and a page
of the console only for a member of a comune's staff."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from banditore.core.models import Operator
from tests.browser import assert_accessible, console_errors, log_in, screenshot

PASSWORD = "Pordenone-Noncello-2026"


def staff(org, username="redattrice", role=Operator.Role.EDITOR):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Operator.objects.create(user=user, organization=org, role=role)
    return user


def test_the_console_asks_for_a_login_in_italian_even_from_an_english_browser(comune):
    client = Client(headers={"Accept-Language": "en-GB,en"})
    response = client.get("/console/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/console/accesso/?next=/console/")
    page = response.content.decode()
    assert 'lang="it"' in page and "Accedi" in page


def test_english_only_by_the_switch(comune):
    client = Client(headers={"Accept-Language": "it"})
    response = client.post("/lingua/setlang/", {"language": "en", "next": "/console/accesso/"})
    assert response.status_code == 302
    page = client.get("/console/accesso/").content.decode()
    assert 'lang="en"' in page and "Log in" in page


def test_someone_outside_any_comunes_staff_is_refused(comune):
    get_user_model().objects.create_user("passante", password=PASSWORD)
    client = Client()
    client.force_login(get_user_model().objects.get(username="passante"))
    assert client.get("/console/").status_code == 403


def test_five_wrong_passwords_lock_the_account_out(comune):
    staff(comune)
    client = Client(REMOTE_ADDR="192.0.2.10")
    for _ in range(5):
        client.post("/console/accesso/", {"username": "redattrice", "password": "sbagliata"})
    locked = client.post("/console/accesso/", {"username": "redattrice", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Troppi tentativi" in locked.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.browser
def test_an_editor_logs_in_in_a_real_browser(browser, live_server, transactional_db):
    from tests.factories import make_comune

    org = make_comune()
    staff(org)
    log_in(browser, live_server.url, "redattrice", PASSWORD)
    assert browser.current_url.endswith("/console/")
    assert org.name in browser.page_source
    screenshot(browser, "console-dashboard")
    assert_accessible(browser, "console dashboard")
    assert console_errors(browser) == []
