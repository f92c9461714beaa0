"""A failed status: retried as the verdict says, never moving a row that was skipped."""

import pytest

from banditore.broadcasts.models import Delivery
from banditore.webhooks.tasks import apply_pending_events
from tests.factories import channel_of, subscribe
from tests.webhooks.bodies import body, status, store

CITIZEN = "+393331112222"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def test_a_transient_failure_requeues_the_delivery_for_a_new_send(channel, comune):
    d = Delivery.objects.create(
        organization=comune, channel=channel, recipient=CITIZEN, status="sent", wamid="w.1",
        attempts=1,
    )  # fmt: skip
    store(channel, body(statuses=[status("w.1", "failed", errors=[{"code": 131000}])]))
    apply_pending_events()
    d.refresh_from_db()
    assert (d.status, d.wamid, d.error_code) == ("queued", None, 131000)
    assert d.next_attempt_at is not None


def test_a_skipped_delivery_is_never_moved_by_a_failure(channel, comune):
    subscriber = subscribe(comune, CITIZEN)
    d = Delivery.objects.create(
        organization=comune, channel=channel, subscriber=subscriber, recipient=CITIZEN,
        status="skipped", skip_reason="unsubscribed", wamid="w.2",
    )  # fmt: skip
    store(channel, body(statuses=[status("w.2", "failed", errors=[{"code": 131000}])]))
    store(channel, body(statuses=[status("w.2", "read")]))
    apply_pending_events()
    d.refresh_from_db()
    assert d.status == "skipped"


def test_a_citizens_own_stop_opts_them_out(channel, comune):
    subscriber = subscribe(comune, CITIZEN)
    Delivery.objects.create(
        organization=comune, channel=channel, subscriber=subscriber, recipient=CITIZEN,
        status="sent", wamid="w.3",
    )  # fmt: skip
    store(channel, body(statuses=[status("w.3", "failed", errors=[{"code": 131050}])]))
    apply_pending_events()
    subscriber.refresh_from_db()
    assert subscriber.status == "unsubscribed"


def test_a_template_paused_after_acceptance_pauses_the_channel_and_the_delivery_waits(
    channel, comune
):
    subscriber = subscribe(comune, CITIZEN)
    d = Delivery.objects.create(
        organization=comune, channel=channel, subscriber=subscriber, recipient=CITIZEN,
        status="sent", wamid="w.4", attempts=1,
    )  # fmt: skip
    store(channel, body(statuses=[status("w.4", "failed", errors=[{"code": 132015}])]))
    apply_pending_events()
    d.refresh_from_db()
    channel.refresh_from_db()
    assert (d.status, d.wamid) == ("queued", None)
    assert channel.status == "paused" and "132015" in channel.paused_reason


def test_a_number_not_on_whatsapp_is_marked_unreachable_with_its_proof(channel, comune):
    subscriber = subscribe(comune, CITIZEN)
    Delivery.objects.create(
        organization=comune, channel=channel, subscriber=subscriber, recipient=CITIZEN,
        status="sent", wamid="w.5",
    )  # fmt: skip
    store(channel, body(statuses=[status("w.5", "failed", errors=[{"code": 131026}])]))
    apply_pending_events()
    subscriber.refresh_from_db()
    assert subscriber.status == "unreachable"
    assert subscriber.consent_events.filter(action="unreachable", source="provider").exists()
