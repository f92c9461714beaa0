"""Test data for the cost tests: broadcasts, citizens who wrote, deliveries already sent."""

import json
from datetime import timedelta

from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.subscribers.models import Subscriber
from banditore.webhooks.tasks import apply_pending_events
from tests.factories import channel_of
from tests.webhooks.bodies import body, message, store


def new_broadcast(org, topics=(), **fields) -> Broadcast:
    b = Broadcast.objects.create(
        organization=org, channel=channel_of(org), text="Mercato spostato", **fields
    )
    b.topics.set(org.topics.filter(slug__in=topics))
    return b


def wrote(org, phone: str, ago: timedelta) -> Subscriber:
    """The citizen wrote to the comune `ago` before now, through the real webhook path."""
    ts = str(int((timezone.now() - ago).timestamp()))
    wamid = f"wamid.{phone}.{ts}"
    store(
        channel_of(org),
        body(messages=[message(sender=phone[1:], text="Grazie", wamid=wamid, ts=ts)]),
    )
    apply_pending_events()
    return Subscriber.objects.get(organization=org, phone=phone)


def sent(org, phone: str, at, *, kind="broadcast", status="delivered", broadcast=None, free=False):
    """A delivery the dispatcher already sent at `at` (`free`: as free text, in the window)."""
    subscriber = Subscriber.objects.filter(organization=org, phone=phone).first()
    return Delivery.objects.create(
        organization=org,
        channel=channel_of(org),
        broadcast=broadcast,
        subscriber=subscriber,
        kind=kind,
        recipient=phone,
        status=status,
        sent_at=at,
        free=free,
    )


def rate_card(tmp_path, settings, prices: dict, valid_from="2026-01-01", source="test card"):
    """An installation's own rate card, in force for the test."""
    path = tmp_path / "ratecard.json"
    card = {"valid_from": valid_from, "source": source, "prices": prices}
    path.write_text(json.dumps(card, indent=2))
    settings.BANDITORE_RATE_CARD = str(path)
    return path


def flat(price: float) -> dict:
    return {"marketing": price, "utility": price, "authentication": price, "service": 0}
