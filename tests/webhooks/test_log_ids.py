"""The processing's log lines name what they are about: the event(s), the channel and, for a
delivery's status, its broadcast, as fields the JSON log formatter writes out."""

import json
import logging

import pytest
from django.db import OperationalError

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.ops.logs import JSONFormatter
from banditore.webhooks import statuses as status_module
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.tasks import apply_pending_events
from tests.factories import channel_of
from tests.webhooks.bodies import body, status, store


@pytest.fixture
def channel(comune):
    return channel_of(comune)


@pytest.fixture
def delivery(comune, channel):
    broadcast = Broadcast.objects.create(organization=comune, channel=channel, text="Avviso")
    return Delivery.objects.create(
        organization=comune,
        channel=channel,
        broadcast=broadcast,
        recipient="+393331112222",
        status="sent",
        wamid="w.1",
    )


def lines(caplog, text):
    found = [r for r in caplog.records if text in r.getMessage()]
    assert found, f"no log line with {text!r}"
    return found


def as_json(record) -> dict:
    return json.loads(JSONFormatter().format(record))


def test_a_status_set_aside_names_its_event_channel_and_broadcast(
    caplog, channel, delivery, monkeypatch
):
    event = store(channel, body(statuses=[status("w.1", "delivered")]))
    real = status_module.apply_forward

    def broken(moves):
        if any(m.provider_id == "w.1" for m in moves):
            raise ValueError("can't be written")
        return real(moves)

    monkeypatch.setattr(status_module, "apply_forward", broken)
    with caplog.at_level(logging.WARNING, logger="banditore.webhooks"):
        apply_pending_events()

    [batch] = lines(caplog, "set-based update of 1 statuses failed")
    entry = as_json(batch)
    assert entry["event_ids"] == [event.pk]
    assert entry["channel_ids"] == [channel.pk]
    assert entry["broadcast_ids"] == [delivery.broadcast_id]
    [item] = lines(caplog, "item set aside")
    entry = as_json(item)
    assert (entry["event_id"], entry["channel_id"], entry["broadcast_id"]) == (
        event.pk,
        channel.pk,
        delivery.broadcast_id,
    )
    assert f"webhook event {event.pk} on channel {channel.pk}" in entry["message"]


def test_a_failed_batch_and_its_events_name_them(caplog, channel, delivery, monkeypatch):
    first = store(channel, body(statuses=[status("w.1", "delivered")]))
    second = store(channel, body(statuses=[status("w.1", "read")]))
    monkeypatch.setattr(
        status_module,
        "apply_forward",
        lambda moves: (_ for _ in ()).throw(OperationalError("deadlock detected")),
    )
    with caplog.at_level(logging.WARNING, logger="banditore.webhooks"):
        apply_pending_events()

    [batch] = lines(caplog, "webhook batch of 2 events failed")
    entry = as_json(batch)
    assert sorted(entry["event_ids"]) == [first.pk, second.pk]
    assert entry["channel_ids"] == [channel.pk]
    each = {as_json(r)["event_id"]: as_json(r) for r in lines(caplog, "failed") if r is not batch}
    assert set(each) == {first.pk, second.pk}
    assert {entry["channel_id"] for entry in each.values()} == {channel.pk}


def test_a_dead_letter_names_its_event_and_channel(caplog, channel):
    event = WebhookEvent.objects.create(channel=channel, body="{not json", digest="x" * 64)
    with caplog.at_level(logging.WARNING, logger="banditore.webhooks"):
        apply_pending_events()
    event.refresh_from_db()
    assert event.status == "dead"
    [line] = lines(caplog, "dead letter")
    entry = as_json(line)
    assert (entry["event_id"], entry["channel_id"]) == (event.pk, channel.pk)
