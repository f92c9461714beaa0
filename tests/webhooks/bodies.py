"""Meta-shaped webhook bodies for the webhook tests, addressed to a phone-number id."""

import json
import time

from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.store import digest

NUMBER_ID = "106540352242922"  # the sandbox's (and the test comune's) phone-number id


def now_ts() -> str:
    return str(int(time.time()))


def message(sender="393331112222", text="ISCRIVIMI", wamid="wamid.M1", ts=None) -> dict:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": now_ts() if ts is None else ts,
        "type": "text",
        "text": {"body": text},
    }


def status(wamid, name, ts=None, **extra) -> dict:
    return {
        "id": wamid,
        "status": name,
        "timestamp": now_ts() if ts is None else ts,
        "recipient_id": "393331112222",
        **extra,
    }


def body(*, statuses=(), messages=(), number_id=NUMBER_ID) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "390510000001", "phone_number_id": number_id},
    }
    if statuses:
        value["statuses"] = list(statuses)
    if messages:
        value["messages"] = list(messages)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def store(channel, payload, *, has_messages=None, received_at=None) -> WebhookEvent:
    """As the endpoint stores it (digest, lane), without going through HTTP."""
    raw = json.dumps(payload)
    if has_messages is None:
        has_messages = '"messages": [' in raw
    event = WebhookEvent.objects.create(
        channel=channel, body=raw, digest=digest(raw.encode()), has_messages=has_messages
    )
    if received_at is not None:
        WebhookEvent.objects.filter(pk=event.pk).update(received_at=received_at)
        event.refresh_from_db()
    return event
