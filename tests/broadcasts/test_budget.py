"""A send beyond the month's budget needs an administrator's override, recorded."""

from decimal import Decimal

import pytest

from banditore.broadcasts import cost, lifecycle
from banditore.broadcasts.lifecycle import Actor, Refused
from banditore.broadcasts.models import Broadcast, Priority
from banditore.core.models import AuditEvent
from tests.broadcasts.conftest import draft


@pytest.fixture
def tight(comune, audience):
    comune.monthly_budget = Decimal("0.01")
    comune.save(update_fields=["monthly_budget"])
    return comune


def test_over_budget_is_refused(tight):
    b = lifecycle.submit(draft(tight), Actor("redazione"))
    with pytest.raises(Refused) as refused:
        lifecycle.send(b, Actor("redazione"), override_budget=True)  # no permission
    assert refused.value.code == "over_budget"
    assert Broadcast.objects.get(pk=b.pk).status == "approved"
    assert not b.deliveries.exists()


def test_an_administrator_overrides_and_it_is_recorded(tight):
    admin = Actor("sindaco", may_override_budget=True)
    b = lifecycle.submit(draft(tight), admin)
    with pytest.raises(Refused):
        lifecycle.send(b, admin)  # the permission alone is not the decision
    b = lifecycle.send(b, admin, override_budget=True)
    assert (b.status, b.budget_override_by) == ("sending", "sindaco")
    assert b.estimated_cost == cost.estimate(b).total > Decimal("0.01")
    assert AuditEvent.objects.filter(action="broadcast.budget_overridden", actor_label="sindaco")


def test_within_budget_it_just_goes(comune, audience):
    comune.monthly_budget = Decimal("1000")
    comune.save(update_fields=["monthly_budget"])
    b = lifecycle.send(draft(comune), Actor("redazione"))
    assert (b.status, b.budget_override_by) == ("sending", "")
    assert b.estimated_cost is not None


def test_an_emergency_goes_over_budget_and_the_overrun_is_on_record(tight):
    officer = Actor("protezione-civile", may_send_emergency_alone=True)
    b = lifecycle.send(draft(tight, priority=Priority.EMERGENCY), officer)
    assert b.status == "sending"
    assert b.budget_override_by == "protezione-civile (emergency)"
    assert AuditEvent.objects.filter(action="broadcast.budget_overridden").exists()


def test_a_sent_broadcast_records_its_paid_messages(comune, audience):
    from banditore.broadcasts.tasks import record_billable_counts

    b = lifecycle.send(draft(comune), Actor("redazione"))
    b.deliveries.update(status="delivered")
    Broadcast.objects.filter(pk=b.pk).update(status="sent", finished_at=b.started_at)
    assert record_billable_counts() == 1
    assert Broadcast.objects.get(pk=b.pk).billable_count == b.deliveries.count() > 0
