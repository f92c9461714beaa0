"""Helpers to play a citizen writing to the comune, through the real webhook processing."""

import itertools
import json
import time

from banditore.broadcasts.models import Delivery
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.tasks import apply_pending_events

_ids = itertools.count(1)


def write(channel, phone: str, text: str) -> str | None:
    """The citizen `phone` writes `text`; return the reply the service queued, if any."""
    before = set(Delivery.objects.filter(recipient=phone).values_list("id", flat=True))
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "messages": [
                                {
                                    "from": phone.lstrip("+"),
                                    "id": f"wamid.test{next(_ids)}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    WebhookEvent.objects.create(channel=channel, body=json.dumps(body))
    apply_pending_events()
    new = Delivery.objects.filter(recipient=phone).exclude(id__in=before).order_by("id")
    texts = [d.text for d in new]
    assert len(texts) <= 1, f"the service answered more than once: {texts}"
    return texts[0] if texts else None


def notify(channel, field: str, value: dict) -> None:
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "time": 1767225600, "changes": [{"field": field, "value": value}]}],
    }
    WebhookEvent.objects.create(channel=channel, body=json.dumps(body))
    apply_pending_events()
