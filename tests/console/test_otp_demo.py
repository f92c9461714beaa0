"""`make run`'s demo comune has one console account per role; the banner lists them, and
the amministratore's needs the second factor like any other."""

import io

from django.test import Client

from banditore.core.demo import STAFF, ensure_demo, ensure_staff
from banditore.core.management.commands.run import Command
from banditore.core.models import Operator


def test_one_account_per_role_with_a_password_that_stays(db):
    ensure_demo()
    accounts = ensure_staff()
    assert {role for _, role, _ in accounts} == set(Operator.Role)
    assert ensure_staff() == accounts
    for username, role, password in accounts:
        operator = Operator.objects.get(user__username=username)
        assert operator.role == role and operator.organization.slug == "esempio"
        assert operator.user.check_password(password) and not operator.user.is_superuser


def test_the_amministratore_logs_in_then_enrols(db):
    ensure_demo()
    accounts = dict((u, p) for u, _, p in ensure_staff())
    client = Client(REMOTE_ADDR="192.0.2.20")
    client.post(
        "/console/accesso/",
        {"username": "amministratore", "password": accounts["amministratore"]},
    )
    assert (
        client.get("/console/", follow=True)
        .redirect_chain[-1][0]
        .startswith("/console/verifica/attiva/")
    )


def test_the_banner_lists_the_console_and_the_accounts(db, settings):
    ensure_demo()
    command = Command(stdout=io.StringIO())
    command.staff = ensure_staff()
    command.banner("http://127.0.0.1:8000", "http://127.0.0.1:8650", "http://cb", "pw")
    out = command.stdout.getvalue()
    assert f"{settings.PUBLIC_URL}/console/" in out
    for username, _, password in command.staff:
        assert username in out and password in out
    line = next(x for x in out.splitlines() if "amministratore" in x)
    assert "verification code" in line or "codice" in line
    assert len(STAFF) == 4
