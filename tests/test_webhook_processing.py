"""Applying stored webhooks: keywords, pointer, statuses; idempotent and order-proof."""

import json

import pytest

from banditore.broadcasts.models import Delivery
from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import InboundMessage, WebhookEvent
from banditore.webhooks.tasks import apply_pending_events
from tests.factories import channel_of, subscribe
from tests.test_webhook_endpoint import inbound

CITIZEN = "+393331112222"


def store(channel, payload) -> WebhookEvent:
    return WebhookEvent.objects.create(channel=channel, body=json.dumps(payload))


def status_payload(*statuses):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messaging_product": "whatsapp", "statuses": list(statuses)},
                    }
                ],
            }
        ],
    }


def status(wamid, name, ts="1767225700", **extra):
    return {"id": wamid, "status": name, "timestamp": ts, "recipient_id": "393331112222", **extra}


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def replies_to(phone):
    return list(
        Delivery.objects.filter(kind="reply", recipient=phone).values_list("text", flat=True)
    )


def test_iscrivimi_subscribes_records_consent_and_queues_the_welcome(channel):
    store(channel, inbound("Iscrivimi!", wamid="wamid.1"))
    assert apply_pending_events() == 1
    subscriber = Subscriber.objects.get(phone=CITIZEN)
    assert subscriber.status == "active"
    assert subscriber.topics.count() == 5  # no choice yet: every topic
    event = ConsentEvent.objects.get()
    assert (event.action, event.source, event.phone) == ("subscribe", "whatsapp", CITIZEN)
    assert event.evidence["wamid"] == "wamid.1" and event.notice_version == "1"
    [welcome] = replies_to(CITIZEN)
    assert "Comune di Pordenone" in welcome and "CANCELLAMI" in welcome
    assert WebhookEvent.objects.get().status == "processed"


def test_a_repeated_webhook_changes_nothing(channel):
    store(channel, inbound("ISCRIVIMI", wamid="wamid.1"))
    store(channel, inbound("ISCRIVIMI", wamid="wamid.1"))
    apply_pending_events()
    assert ConsentEvent.objects.count() == 1
    assert InboundMessage.objects.count() == 1
    assert len(replies_to(CITIZEN)) == 1


def test_subscribing_twice_says_already_subscribed(channel):
    store(channel, inbound("ISCRIVIMI", wamid="wamid.1"))
    store(channel, inbound("iscrivimi", wamid="wamid.2"))
    apply_pending_events()
    assert ConsentEvent.objects.count() == 1
    assert "già iscritto" in replies_to(CITIZEN)[1]


def test_cancellami_unsubscribes_and_drops_queued_news(channel, comune):
    subscriber = subscribe(comune, CITIZEN)
    queued = Delivery.objects.create(
        organization=comune, channel=channel, subscriber=subscriber, recipient=CITIZEN
    )
    store(channel, inbound("CANCELLAMI.", wamid="wamid.9"))
    apply_pending_events()
    subscriber.refresh_from_db()
    assert subscriber.status == "unsubscribed"
    assert ConsentEvent.objects.filter(action="unsubscribe", source="whatsapp").exists()
    queued.refresh_from_db()
    assert (queued.status, queued.skip_reason) == ("skipped", "unsubscribed")
    assert "Non riceverai più messaggi" in replies_to(CITIZEN)[0]


def test_other_text_gets_one_pointer_per_day(channel):
    store(channel, inbound("Quando passa la spazzatura?", wamid="wamid.1"))
    store(channel, inbound("Ci siete?", wamid="wamid.2"))
    apply_pending_events()
    [pointer] = replies_to(CITIZEN)
    assert "URP 800 000 000" in pointer
    handlings = InboundMessage.objects.order_by("id").values_list("handling", flat=True)
    assert list(handlings) == ["pointer", "ignored"]
    assert not Subscriber.objects.exists()


def test_statuses_only_move_forward_whatever_their_order(channel, comune):
    d = Delivery.objects.create(
        organization=comune, channel=channel, recipient=CITIZEN, status="sent", wamid="wamid.X"
    )
    store(channel, status_payload(status("wamid.X", "read", "1767225800")))
    store(channel, status_payload(status("wamid.X", "delivered"), status("wamid.X", "sent")))
    store(channel, status_payload(status("wamid.X", "read", "1767225800")))
    apply_pending_events()
    d.refresh_from_db()
    assert d.status == "read"
    assert d.read_at is not None and d.sent_at is not None


def test_a_late_failure_does_not_undo_a_delivery(channel, comune):
    d = Delivery.objects.create(
        organization=comune, channel=channel, recipient=CITIZEN, status="delivered", wamid="w.1"
    )
    store(channel, status_payload(status("w.1", "failed", errors=[{"code": 131026}])))
    apply_pending_events()
    d.refresh_from_db()
    assert d.status == "delivered"


def test_undeliverable_marks_the_subscriber_unreachable(channel, comune):
    subscriber = subscribe(comune, CITIZEN)
    d = Delivery.objects.create(
        organization=comune,
        channel=channel,
        subscriber=subscriber,
        recipient=CITIZEN,
        status="sent",
        wamid="w.2",
    )
    failure = {"code": 131026, "title": "Message undeliverable"}
    store(channel, status_payload(status("w.2", "failed", errors=[failure])))
    apply_pending_events()
    d.refresh_from_db()
    subscriber.refresh_from_db()
    assert (d.status, d.error_code) == ("failed", 131026)
    assert subscriber.status == "unreachable"


def test_a_status_that_overtakes_its_send_is_applied_later(channel, comune):
    store(channel, status_payload(status("w.late", "delivered")))
    apply_pending_events()
    event = WebhookEvent.objects.get()
    assert event.status == "pending" and event.attempts == 1  # waits for the wamid
    d = Delivery.objects.create(
        organization=comune, channel=channel, recipient=CITIZEN, status="sent", wamid="w.late"
    )
    WebhookEvent.objects.update(not_before=None)
    apply_pending_events()
    d.refresh_from_db()
    assert d.status == "delivered"
    assert WebhookEvent.objects.get().status == "processed"


def test_a_broken_event_is_set_aside_and_the_rest_still_applies(channel):
    WebhookEvent.objects.create(channel=channel, body='{"object": 1, "entry": "x"}')
    store(channel, inbound("ISCRIVIMI", wamid="wamid.1"))
    assert apply_pending_events() == 2
    statuses = list(WebhookEvent.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["dead", "processed"]
    assert Subscriber.objects.filter(status="active").count() == 1


def test_a_read_without_sent_or_delivered_still_counts_as_sent(channel, comune):
    d = Delivery.objects.create(
        organization=comune, channel=channel, recipient=CITIZEN, status="sending", wamid="w.r"
    )
    store(channel, status_payload(status("w.r", "read", "1767225800")))
    apply_pending_events()
    d.refresh_from_db()
    assert d.status == "read"
    assert d.sent_at == d.read_at and d.sent_at.timestamp() == 1767225800


def test_a_batch_with_the_whole_timeline_ends_at_read(channel, comune):
    d = Delivery.objects.create(
        organization=comune, channel=channel, recipient=CITIZEN, status="sending", wamid="w.t"
    )
    store(
        channel,
        status_payload(
            status("w.t", "read", "1767225803"),
            status("w.t", "sent", "1767225801"),
            status("w.t", "delivered", "1767225802"),
        ),
    )
    apply_pending_events()
    d.refresh_from_db()
    assert d.status == "read"
    assert [d.sent_at.timestamp(), d.delivered_at.timestamp(), d.read_at.timestamp()] == [
        1767225801,
        1767225802,
        1767225803,
    ]
