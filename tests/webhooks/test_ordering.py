"""A citizen's commands apply in the order they wrote them, whatever order webhooks come in."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import InboundMessage
from banditore.webhooks.tasks import apply_pending_events
from tests.factories import channel_of
from tests.webhooks.bodies import body, message, store

CITIZEN = "+393331112222"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def test_a_late_iscrivimi_in_the_same_batch_does_not_undo_a_newer_cancellami(channel):
    t = int(time.time())
    store(channel, body(messages=[message(text="CANCELLAMI", wamid="w.2", ts=str(t))]))
    store(channel, body(messages=[message(text="ISCRIVIMI", wamid="w.1", ts=str(t - 30))]))
    apply_pending_events()
    assert Subscriber.objects.get(phone=CITIZEN).status == "unsubscribed"
    actions = ConsentEvent.objects.order_by("occurred_at").values_list("action", flat=True)
    assert list(actions) == ["subscribe", "unsubscribe"]


def test_a_late_iscrivimi_in_a_later_batch_does_not_undo_a_newer_cancellami(channel):
    t = int(time.time())
    store(channel, body(messages=[message(text="ISCRIVIMI", wamid="w.1", ts=str(t - 60))]))
    store(channel, body(messages=[message(text="CANCELLAMI", wamid="w.3", ts=str(t))]))
    apply_pending_events()
    # Meta retries the older ISCRIVIMI (another wamid in our tests: another copy) later.
    store(channel, body(messages=[message(text="ISCRIVIMI", wamid="w.2", ts=str(t - 30))]))
    apply_pending_events()
    assert Subscriber.objects.get(phone=CITIZEN).status == "unsubscribed"


def test_last_inbound_at_never_moves_backwards(channel):
    t = int(time.time())
    store(channel, body(messages=[message(text="ISCRIVIMI", wamid="w.1", ts=str(t))]))
    apply_pending_events()
    store(channel, body(messages=[message(text="Ciao", wamid="w.0", ts=str(t - 600))]))
    apply_pending_events()
    subscriber = Subscriber.objects.get(phone=CITIZEN)
    assert subscriber.last_inbound_at == datetime.fromtimestamp(t, tz=UTC)


@pytest.mark.parametrize("ts", ["", "0", "abc", "99999999999999999999"])
def test_a_missing_or_unreadable_timestamp_is_the_time_it_was_received(channel, ts):
    received = datetime.now(tz=UTC) - timedelta(minutes=3)
    store(channel, body(messages=[message(wamid="w.1", ts=ts)]), received_at=received)
    apply_pending_events()
    inbound = InboundMessage.objects.get()
    assert inbound.sent_at == received
    assert ConsentEvent.objects.get().occurred_at == received
