"""The second factor: an amministratore reaches no console page on the password alone; one
without a device enrols (QR code, then a code from it); others may enrol if they wish."""

import re

from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from banditore.core.models import Operator
from tests.console.helpers import code_of

PASSWORD = "Pordenone-Noncello-2026"


def staff(org, username, role):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Operator.objects.create(user=user, organization=org, role=role)
    client = Client()
    client.force_login(user)
    return user, client


def unthrottle(device):
    # django-otp makes one wait after a wrong code (1 s, doubling): a guesser gets nowhere;
    # the test does not wait.
    device.refresh_from_db()
    device.throttle_reset()


def test_a_wrong_code_makes_one_wait(comune):
    user, client = staff(comune, "sindaca", Operator.Role.ADMIN)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.post("/console/verifica/", {"code": "000000"})
    refused = client.post("/console/verifica/", {"code": code_of(device)})
    assert refused.status_code == 200 and 'id="code-error"' in refused.content.decode()
    assert client.get("/console/").status_code == 302


def test_an_amministratore_without_a_device_is_sent_to_enrol_then_gets_in(comune):
    user, client = staff(comune, "sindaca", Operator.Role.ADMIN)
    first = client.get("/console/", follow=True)
    assert first.redirect_chain[-1][0] == "/console/verifica/attiva/?next=%2Fconsole%2F"
    page = first.content.decode()
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed and "otpauth://totp/" in page
    # A wrong code confirms nothing.
    wrong = client.post("/console/verifica/attiva/", {"code": "000000", "next": "/console/"})
    assert wrong.status_code == 200 and 'id="code-error"' in wrong.content.decode()
    assert client.get("/console/").status_code == 302
    unthrottle(device)

    done = client.post("/console/verifica/attiva/", {"code": code_of(device), "next": "/console/"})
    assert done.status_code == 302 and done.url == "/console/"
    assert TOTPDevice.objects.get(user=user).confirmed
    assert client.get("/console/").status_code == 200


def test_an_enrolled_amministratore_types_the_code_after_the_password(comune):
    user, client = staff(comune, "sindaca", Operator.Role.ADMIN)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    asked = client.get("/console/")
    assert asked.status_code == 302 and asked.url.startswith("/console/verifica/?next=")
    # Enrolling again is no way around the code.
    around = client.get("/console/verifica/attiva/")
    assert around.status_code == 302 and around.url.startswith("/console/verifica/")
    assert client.post("/console/verifica/", {"code": "123456"}).status_code == 200
    assert client.get("/console/").status_code == 302
    unthrottle(device)
    ok = client.post("/console/verifica/", {"code": code_of(device), "next": "/console/"})
    assert ok.status_code == 302 and ok.url == "/console/"
    assert client.get("/console/").status_code == 200


def test_a_code_is_not_taken_twice(comune):
    user, client = staff(comune, "sindaca", Operator.Role.ADMIN)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    code = code_of(device)
    client.post("/console/verifica/", {"code": code})
    other = Client()
    other.force_login(user)
    assert other.post("/console/verifica/", {"code": code}).status_code == 200
    assert other.get("/console/").status_code == 302


def test_the_next_page_is_never_another_site(comune):
    user, client = staff(comune, "sindaca", Operator.Role.ADMIN)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    ok = client.post(
        "/console/verifica/", {"code": code_of(device), "next": "https://evil.example/"}
    )
    assert ok.status_code == 302 and ok.url == "/console/"


def test_an_editor_gets_in_without_a_code_and_may_enrol(comune):
    user, client = staff(comune, "redattrice", Operator.Role.EDITOR)
    assert client.get("/console/").status_code == 200
    page = client.get("/console/verifica/attiva/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user)
    client.post("/console/verifica/attiva/", {"code": code_of(device)})
    assert TOTPDevice.objects.get(user=user).confirmed


def test_the_pages_need_a_password_first(comune):
    client = Client()
    for url in ("/console/verifica/", "/console/verifica/attiva/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/console/accesso/")
    assert not TOTPDevice.objects.exists()
