"""The sending window: normal broadcasts wait for it, drains pause at its end and resume at
its opening, emergencies ignore it; wall-clock times hold across both DST changes."""

import datetime as dt

import pytest

from banditore.broadcasts import audience, scheduling
from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.broadcasts.slots import WindowPause
from banditore.core.models import AuditEvent
from tests.factories import subscribe
from tests.scheduling.helpers import draft, rome, scheduled, utc


def test_a_normal_broadcast_due_at_night_waits_for_the_morning(comune):
    subscribe(comune, "+393331110001")
    b = scheduled(comune, rome(2026, 5, 7, 23, 30))
    assert scheduling.tick(rome(2026, 5, 7, 23, 30, 1))["started"] == []
    assert scheduling.tick(rome(2026, 5, 8, 7, 59, 59))["started"] == []
    # Nine hours after its time, yet not late: it could not have gone earlier.
    done = scheduling.tick(rome(2026, 5, 8, 8, 0, 1))
    assert (done["started"], done["missed"]) == ([b.pk], [])


def test_a_broadcast_waiting_for_a_window_beyond_the_grace_is_missed_at_once(comune):
    # Due at 20:55, the service back at 21:10: it could only go at 08:00, 11 h late.
    b = scheduled(comune, rome(2026, 5, 7, 20, 55))
    done = scheduling.tick(rome(2026, 5, 7, 21, 10))
    assert done["missed"] == [b.pk]


@pytest.mark.parametrize(
    ("ignores", "starts"), [(True, True), (False, False)], ids=["ignores", "keeps"]
)
def test_urgent_follows_the_comunes_setting(comune, ignores, starts):
    comune.urgent_ignores_window = ignores
    comune.save()
    b = scheduled(comune, rome(2026, 5, 7, 22, 0), priority=Priority.URGENT)
    assert scheduling.tick(rome(2026, 5, 7, 22, 0, 1))["started"] == ([b.pk] if starts else [])


def sending(org, priority=Priority.NORMAL, recipients=3, started=None) -> Broadcast:
    """A broadcast draining since `started` (by default 14:00 on 7 May 2026 in Rome)."""
    for n in range(recipients):
        subscribe(org, f"+39333111000{n}")
    b = draft(org)
    Broadcast.objects.filter(pk=b.pk).update(priority=priority)
    b.refresh_from_db()
    audience.start(b)
    Broadcast.objects.filter(pk=b.pk).update(started_at=started or rome(2026, 5, 7, 14, 0))
    b.refresh_from_db()
    return b


def test_a_drain_crossing_the_end_pauses_and_resumes_at_the_next_opening(comune):
    b = sending(comune)
    assert scheduling.tick(rome(2026, 5, 7, 20, 59, 59))["paused"] == []
    assert scheduling.tick(rome(2026, 5, 7, 21, 0, 0))["paused"] == [b.pk]
    b.refresh_from_db()
    assert b.status == Broadcast.Status.PAUSED
    assert Delivery.objects.filter(broadcast=b, status="held").count() == 3
    assert WindowPause.objects.get(broadcast=b).until == rome(2026, 5, 8, 8, 0)
    assert scheduling.tick(rome(2026, 5, 7, 21, 0, 2))["paused"] == []
    assert scheduling.tick(rome(2026, 5, 8, 7, 59))["resumed"] == []
    assert scheduling.tick(rome(2026, 5, 8, 8, 0))["resumed"] == [b.pk]
    b.refresh_from_db()
    assert b.status == Broadcast.Status.SENDING
    assert Delivery.objects.filter(broadcast=b, status="queued").count() == 3
    assert not WindowPause.objects.exists()
    labels = AuditEvent.objects.filter(target=f"broadcast:{b.pk}").values_list(
        "action", "actor_label"
    )
    assert {("broadcast.paused", "system"), ("broadcast.resumed", "system")} <= set(labels)


def test_a_drain_an_operator_started_after_the_closing_goes_on(comune):
    b = sending(comune, started=rome(2026, 5, 7, 22, 0))
    assert scheduling.tick(rome(2026, 5, 7, 22, 0, 2))["paused"] == []
    # ...until it crosses the next closing.
    assert scheduling.tick(rome(2026, 5, 8, 21, 0))["paused"] == [b.pk]


def test_a_drain_started_before_the_opening_pauses_only_at_the_closing(comune):
    b = sending(comune, started=rome(2026, 5, 7, 6, 0))
    assert scheduling.tick(rome(2026, 5, 7, 7, 0))["paused"] == []
    assert scheduling.tick(rome(2026, 5, 7, 21, 0))["paused"] == [b.pk]


def test_an_emergency_drain_goes_on_through_the_night(comune):
    b = sending(comune, priority=Priority.EMERGENCY)
    assert scheduling.tick(rome(2026, 5, 7, 23, 0))["paused"] == []
    b.refresh_from_db()
    assert b.status == Broadcast.Status.SENDING


def test_an_operators_pause_is_never_resumed_by_the_window(comune):
    from banditore.broadcasts import lifecycle

    b = sending(comune)
    lifecycle.pause(b, lifecycle.Actor("anna"))  # as an operator would, with no window row
    assert scheduling.tick(rome(2026, 5, 8, 9, 0))["resumed"] == []
    b.refresh_from_db()
    assert b.status == Broadcast.Status.PAUSED


def test_a_broadcast_cancelled_overnight_stays_cancelled(comune):
    from banditore.broadcasts import lifecycle

    b = sending(comune)
    scheduling.tick(rome(2026, 5, 7, 22, 0))
    lifecycle.cancel(b, lifecycle.Actor("anna"))
    assert scheduling.tick(rome(2026, 5, 8, 8, 0))["resumed"] == []
    b.refresh_from_db()
    assert b.status == Broadcast.Status.CANCELLED
    assert not WindowPause.objects.exists()


# -- DST: Europe/Rome changes on the last Sunday of March (02:00 → 03:00) and of October
# (03:00 → 02:00).


def test_the_window_opens_at_08_local_across_the_spring_change(comune):
    # Saturday 28 March 2026, 22:00 CET; Sunday opens at 08:00 CEST = 06:00 UTC.
    assert scheduling.next_opening(comune, utc(2026, 3, 28, 21, 0)) == utc(2026, 3, 29, 6, 0)
    assert scheduling.window_open(comune, utc(2026, 3, 29, 6, 0))
    assert not scheduling.window_open(comune, utc(2026, 3, 29, 5, 59))


def test_the_window_opens_at_08_local_across_the_autumn_change(comune):
    # Saturday 24 October 2026, 22:00 CEST; Sunday opens at 08:00 CET = 07:00 UTC.
    assert scheduling.next_opening(comune, utc(2026, 10, 24, 20, 0)) == utc(2026, 10, 25, 7, 0)
    assert not scheduling.window_open(comune, utc(2026, 10, 25, 6, 59))
    # ...and closes at 21:00 CET = 20:00 UTC.
    assert not scheduling.window_open(comune, utc(2026, 10, 25, 20, 0))
    assert scheduling.window_open(comune, utc(2026, 10, 25, 19, 59))


def test_a_drain_paused_on_the_spring_eve_resumes_at_08_summer_time(comune):
    b = sending(comune, started=utc(2026, 3, 28, 12, 0))
    assert scheduling.tick(utc(2026, 3, 28, 20, 0))["paused"] == [b.pk]  # 21:00 CET
    assert scheduling.tick(utc(2026, 3, 29, 5, 59))["resumed"] == []
    assert scheduling.tick(utc(2026, 3, 29, 6, 0))["resumed"] == [b.pk]


def test_a_window_across_midnight(comune):
    comune.send_window_start, comune.send_window_end = dt.time(22, 0), dt.time(6, 0)
    assert scheduling.window_open(comune, rome(2026, 5, 7, 23, 0))
    assert scheduling.window_open(comune, rome(2026, 5, 8, 5, 59))
    assert not scheduling.window_open(comune, rome(2026, 5, 8, 12, 0))
    assert scheduling.next_opening(comune, rome(2026, 5, 8, 12, 0)) == rome(2026, 5, 8, 22, 0)


def test_a_comune_in_another_zone(comune):
    comune.time_zone = "America/New_York"
    # 13:00 UTC is 09:00 in New York (open), 15:00 in Rome.
    assert scheduling.window_open(comune, utc(2026, 5, 7, 13, 0))
    assert not scheduling.window_open(comune, utc(2026, 5, 7, 11, 0))
