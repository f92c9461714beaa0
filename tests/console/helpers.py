"""Staff of a comune for the console's tests: a logged-in client per role, English pages."""

from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from banditore.core.models import Operator

PASSWORD = "x-Pordenone-2026"


def code_of(device, drift=0) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:0{device.digits}d}"


def member(org, username, role, *, reads_inbound=False):
    """A logged-in member of the comune's staff; an amministratore has typed their code."""
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Operator.objects.create(user=user, organization=org, role=role, reads_inbound=reads_inbound)
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    if role == Operator.Role.ADMIN:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        assert client.post("/console/verifica/", {"code": code_of(device)}).status_code == 302
    return client, user
