"""The WhatsApp webhook endpoint: verify, store, answer 200 at once; a task applies it later."""

import json
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError

from banditore.channels.models import Channel
from banditore.channels.whatsapp.payloads import Notification
from banditore.channels.whatsapp.signature import signature_ok
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.tasks import schedule_apply

log = logging.getLogger(__name__)


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id, kind=Channel.Kind.WHATSAPP)
    config = channel.whatsapp
    if request.method == "GET":
        # Meta's verification handshake (reference §4.2): echo the challenge, nothing else.
        if (
            request.GET.get("hub.mode") == "subscribe"
            and request.GET.get("hub.verify_token") == config.verify_token
        ):
            return _plain(200, request.GET.get("hub.challenge", ""))
        return _plain(403, "verification failed")

    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.WEBHOOK_MAX_BYTES:
        return _plain(413, "body too large")
    body = request.body  # the exact bytes: the signature covers them, not re-serialised JSON
    if not signature_ok(body, request.headers.get("X-Hub-Signature-256"), config.app_secret):
        log.warning("webhook for channel %s refused: bad signature", channel_id)
        return _plain(403, "invalid signature")
    try:
        text = body.decode("utf-8")
        Notification.model_validate(json.loads(text))
    except (UnicodeDecodeError, ValueError, ValidationError) as exc:
        # Signed but unreadable: a bug on the sender's side. Refuse; store nothing.
        log.warning("webhook for channel %s refused: malformed (%s)", channel_id, exc)
        return _plain(400, "malformed notification")
    with transaction.atomic():
        WebhookEvent.objects.create(channel=channel, body=text)
        transaction.on_commit(schedule_apply)
    return _plain(200, "ok")
