"""Two operators acting on the same broadcast at the same moment: one wins, the other is
refused by the state table (the row is locked while an action runs). PostgreSQL only."""

import pytest
from django.db import connection

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Actor, Refused
from banditore.broadcasts.models import Broadcast
from banditore.core.models import AuditEvent
from tests.broadcasts.conftest import in_state
from tests.factories import make_comune, subscribe
from tests.together import at_once

pytestmark = pytest.mark.django_db(transaction=True)


def race(action, n: int = 4) -> list:
    def one(i):
        try:
            action(i)
            return "done"
        except Refused as refused:
            return refused.code

    return sorted(at_once(one, range(n)))


@pytest.fixture
def pg():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database is not shared between threads")
    org = make_comune()
    subscribe(org, "+393331110001")
    subscribe(org, "+393331110002")
    return org


def test_a_broadcast_is_sent_once_however_many_press_send(pg):
    b = in_state(pg, "approved")
    outcomes = race(lambda i: lifecycle.send(b, Actor(f"op{i}")))
    assert outcomes == ["done", "not_approved", "not_approved", "not_approved"]
    assert Broadcast.objects.get(pk=b.pk).deliveries.count() == 2
    assert AuditEvent.objects.filter(action="broadcast.started").count() == 1


def test_pause_and_cancel_at_once_end_cancelled_with_nothing_left_to_send(pg):
    b = in_state(pg, "sending")
    outcomes = race(
        lambda i: (lifecycle.pause if i % 2 else lifecycle.cancel)(b, Actor(f"op{i}")), n=2
    )
    # Paused then cancelled, or cancelled first and the pause refused: never paused at the end.
    assert outcomes in (["done", "done"], ["done", "not_sending"])
    b.refresh_from_db()
    assert b.status == "cancelled"
    assert set(b.deliveries.values_list("status", flat=True)) == {"skipped"}
