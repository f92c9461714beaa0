"""Storing verified webhook bodies: once each, marked for the lane they are applied in."""

import hashlib

from django.db import transaction

from banditore.channels.base import MessageItem, StopItem
from banditore.webhooks.models import WebhookEvent


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def holds_messages(items) -> bool:
    """A citizen wrote (or told the provider to stop): this event goes ahead of statuses."""
    return any(isinstance(item, MessageItem | StopItem) for item in items)


def event_for(channel_id: int, body: bytes, items) -> WebhookEvent:
    return WebhookEvent(
        channel_id=channel_id,
        body=body.decode("utf-8"),
        digest=digest(body),
        has_messages=holds_messages(items),
    )


def store(events: list[WebhookEvent]) -> None:
    """Insert in one statement; a body already stored (a provider's retry, a replayed
    request) is skipped by its digest, so it is acknowledged but never applied twice."""
    from banditore.webhooks.tasks import schedule_apply

    with transaction.atomic():
        WebhookEvent.objects.bulk_create(events, ignore_conflicts=True)
        transaction.on_commit(schedule_apply)
