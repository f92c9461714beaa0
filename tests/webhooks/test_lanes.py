"""A citizen's message is applied ahead of any backlog of status events."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from banditore.broadcasts.models import Delivery
from banditore.channels.whatsapp.signature import sign
from banditore.subscribers.models import Subscriber
from banditore.webhooks import tasks
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.processing import apply_batch
from banditore.webhooks.routing import Router
from tests import live_receiver
from tests.factories import channel_of
from tests.webhooks.bodies import body, message, status, store


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def test_the_endpoint_marks_events_that_hold_messages(receiver, channel):
    url = f"{receiver}/webhooks/whatsapp/{channel.pk}"
    for payload in (body(statuses=[status("w.1", "sent")]), body(messages=[message()])):
        raw = json.dumps(payload).encode()
        assert live_receiver.post(url, raw, sign(raw, "sandbox-app-secret")) == 200
    lanes = WebhookEvent.objects.order_by("id").values_list("has_messages", flat=True)
    assert list(lanes) == [False, True]


def test_a_message_behind_a_backlog_of_statuses_is_in_the_first_batch(channel, monkeypatch):
    monkeypatch.setattr(tasks, "BATCH", 10)
    for n in range(30):
        store(channel, body(statuses=[status(f"w.{n}", "delivered")]))
    store(channel, body(messages=[message()]))
    with transaction.atomic():
        first = tasks._claim_batch()
    assert first[0].has_messages
    # And it is applied by the first batch, not after the backlog.
    with transaction.atomic():
        apply_batch(first, Router())
    assert Subscriber.objects.filter(status="active").count() == 1


def test_statuses_are_applied_set_based(channel, comune):
    wamids = [f"w.{n}" for n in range(300)]
    Delivery.objects.bulk_create(
        Delivery(
            organization=comune, channel=channel, recipient="+39333", status="sending", wamid=w
        )
        for w in wamids
    )
    for w in wamids:
        for name in ("sent", "delivered", "read"):
            store(channel, body(statuses=[status(w, name)]))
    with CaptureQueriesContext(connection) as queries:
        assert tasks.apply_pending_events() == 900
    # Two batches of 500; per batch a claim, a lookup, three updates, a mark: not per event.
    assert len(queries) < 30
    assert set(Delivery.objects.values_list("status", flat=True)) == {"read"}
