"""A scheduled broadcast starts at its time, once, late only within the comune's grace."""

from banditore.broadcasts import scheduling
from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.core.models import AuditEvent
from tests.factories import subscribe
from tests.scheduling.helpers import rome, scheduled


def test_it_waits_for_its_time_then_starts(comune):
    subscribe(comune, "+393331110001")
    subscribe(comune, "+393331110002")
    b = scheduled(comune, rome(2026, 5, 7, 10, 0))
    assert scheduling.tick(rome(2026, 5, 7, 9, 59, 59))["started"] == []
    b.refresh_from_db()
    assert b.status == Broadcast.Status.SCHEDULED
    assert scheduling.tick(rome(2026, 5, 7, 10, 0, 1))["started"] == [b.pk]
    b.refresh_from_db()
    assert (b.status, b.audience_size) == ("sending", 2)
    assert Delivery.objects.filter(broadcast=b, status="queued").count() == 2


def test_a_second_tick_does_not_start_it_again(comune):
    subscribe(comune, "+393331110001")
    b = scheduled(comune, rome(2026, 5, 7, 10, 0))
    now = rome(2026, 5, 7, 10, 0, 1)
    assert scheduling.tick(now)["started"] == [b.pk]
    assert scheduling.tick(now)["started"] == []
    assert AuditEvent.objects.filter(action="broadcast.started").count() == 1
    assert Delivery.objects.filter(broadcast=b).count() == 1


def test_late_within_the_grace_it_starts(comune):
    b = scheduled(comune, rome(2026, 5, 7, 10, 0))
    done = scheduling.tick(rome(2026, 5, 7, 11, 59))
    assert (done["started"], done["missed"]) == ([b.pk], [])


def test_late_beyond_the_grace_it_is_missed_and_the_operators_told(comune):
    comune.schedule_grace_minutes = 30
    comune.save()
    subscribe(comune, "+393331110001")
    b = scheduled(comune, rome(2026, 5, 7, 10, 0))
    done = scheduling.tick(rome(2026, 5, 7, 10, 31))
    assert (done["started"], done["missed"]) == ([], [b.pk])
    b.refresh_from_db()
    assert b.status == "missed"
    assert not Delivery.objects.filter(broadcast=b).exists()
    event = AuditEvent.objects.get(action="broadcast.missed")
    assert (event.target, event.actor_label) == (f"broadcast:{b.pk}", "system")
    assert scheduling.tick(rome(2026, 5, 7, 10, 32))["missed"] == []


def test_other_states_are_left_alone(comune):
    b = scheduled(comune, rome(2026, 5, 7, 10, 0))
    Broadcast.objects.filter(pk=b.pk).update(status=Broadcast.Status.CANCELLED)
    assert scheduling.tick(rome(2026, 5, 7, 10, 1)) == {
        "digests": [],
        "started": [],
        "missed": [],
        "resumed": [],
        "paused": [],
    }


def test_an_emergency_due_at_night_starts_at_once(comune):
    b = scheduled(comune, rome(2026, 5, 7, 3, 0), priority=Priority.EMERGENCY)
    assert scheduling.tick(rome(2026, 5, 7, 3, 0, 1))["started"] == [b.pk]


def test_over_the_budget_at_its_time_it_is_not_sent_and_the_operators_told(comune):
    from decimal import Decimal

    comune.monthly_budget = Decimal("0.01")
    comune.save()
    for n in range(3):
        subscribe(comune, f"+39333111000{n}")
    b = scheduled(comune, rome(2026, 5, 7, 10, 0))
    done = scheduling.tick(rome(2026, 5, 7, 10, 0, 1))
    assert done["started"] == []
    b.refresh_from_db()
    assert (b.status, b.started_at) == ("missed", None)
    assert not Delivery.objects.exists()
    refused = AuditEvent.objects.get(action="broadcast.start_refused")
    assert refused.data["code"] == "over_budget"
    assert AuditEvent.objects.filter(action="broadcast.missed").count() == 1


def test_an_idle_tick_costs_one_query(comune, django_assert_num_queries):
    scheduled(comune, rome(2026, 5, 7, 10, 0))  # not due yet
    with django_assert_num_queries(1):
        assert scheduling.tick(rome(2026, 5, 7, 9, 0))["started"] == []
