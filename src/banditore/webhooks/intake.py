"""What the webhook endpoint decides about a request, apart from the HTTP server.

The kind checks handshake and signature and reads the body; every malformed request gets a
4xx and stores nothing. Kept apart from receiver.py so it can be tested on its own.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from banditore.channels.base import ChannelKind, MalformedWebhook
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.store import event_for

log = logging.getLogger("banditore.webhooks")


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    # What to store before answering (only with a 200).
    event: WebhookEvent | None = None


OK = "ok"


def declared_length(value: str | None) -> int | None:
    """Content-Length as a number, or None if not a plain non-negative integer."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def check_length(transfer_encoding: str | None, content_length: str | None, limit: int):
    """An answer refusing the request before its body is read, or None to go on."""
    if transfer_encoding or not content_length:
        # Providers send a Content-Length; a chunked body can't be size-checked up front.
        return Answer(411, "length required")
    length = declared_length(content_length)
    if length is None:
        return Answer(400, "bad content length")
    if length > limit:
        return Answer(413, "body too large")
    return None


def handshake(kind: ChannelKind, config: BaseModel, params: Mapping[str, str]) -> Answer:
    challenge = kind.webhooks.handshake(config, params)
    if challenge is None:
        return Answer(403, "verification failed")
    return Answer(200, challenge)


def accept(
    kind: ChannelKind, config: BaseModel, channel_id: int, body: bytes, headers: Mapping
) -> Answer:
    if not kind.webhooks.verify(config, body, headers):
        log.warning("webhook for channel %s refused: bad signature", channel_id)
        return Answer(403, "invalid signature")
    try:
        items = kind.webhooks.parse(body)
    except MalformedWebhook as exc:
        # Signed but unreadable: a bug on the sender's side. Refuse; store nothing.
        log.warning("webhook for channel %s refused: malformed (%s)", channel_id, exc)
        return Answer(400, "malformed notification")
    return Answer(200, OK, event_for(channel_id, body, items))
