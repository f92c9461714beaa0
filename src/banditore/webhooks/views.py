"""The webhook endpoint: verify, store, answer 200 at once; a task applies it later.

Knows no channel kind: the channel's kind (channels/registry.py) checks the handshake and
the signature and reads the body. Every malformed request gets a 4xx and stores nothing.
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError

from banditore.channels.base import MalformedWebhook
from banditore.channels.models import Channel
from banditore.webhooks.routing import kind_of
from banditore.webhooks.store import event_for, store

log = logging.getLogger(__name__)


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def declared_length(value: str | None) -> int | None:
    """Content-Length as a number, or None if absent or not a plain non-negative integer."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest, channel_id: int) -> HttpResponse:
    return webhook(request, Channel.Kind.WHATSAPP, channel_id)


def webhook(request: HttpRequest, kind_name: str, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id, kind=kind_name)
    kind = kind_of(channel)
    try:
        config = kind.config.model_validate(channel.config)
    except ValidationError:
        log.error("webhook for channel %s: its settings don't validate", channel_id)
        return _plain(503, "channel misconfigured")
    if request.method == "GET":
        challenge = kind.webhooks.handshake(config, request.GET)
        if challenge is None:
            return _plain(403, "verification failed")
        return _plain(200, challenge)

    if "HTTP_TRANSFER_ENCODING" in request.META:
        # Providers send a Content-Length; a chunked body can't be size-checked before reading.
        return _plain(411, "length required")
    raw_length = request.META.get("CONTENT_LENGTH")
    if not raw_length:
        return _plain(411, "length required")
    length = declared_length(raw_length)
    if length is None:
        return _plain(400, "bad content length")
    if length > settings.WEBHOOK_MAX_BYTES:
        return _plain(413, "body too large")
    # The exact bytes (the signature covers them, not re-serialised JSON), read from the
    # stream so Django's own upload limit doesn't apply: ours was checked above.
    body = request.read(length)
    if len(body) != length:
        return _plain(400, "body shorter than its length")
    if not kind.webhooks.verify(config, body, request.headers):
        log.warning("webhook for channel %s refused: bad signature", channel_id)
        return _plain(403, "invalid signature")
    try:
        items = kind.webhooks.parse(body)
    except MalformedWebhook as exc:
        # Signed but unreadable: a bug on the sender's side. Refuse; store nothing.
        log.warning("webhook for channel %s refused: malformed (%s)", channel_id, exc)
        return _plain(400, "malformed notification")
    store([event_for(channel.pk, body, items)])
    return _plain(200, "ok")
