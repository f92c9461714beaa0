"""The webhook endpoint inside the Django app: verify, store, answer 200; a task applies it.

Judged by intake.py exactly as the asynchronous receiver (`banditore receive`) judges it;
this view stores each body on its own, the receiver in batches.
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError

from banditore.channels.models import Channel
from banditore.webhooks import intake
from banditore.webhooks.routing import kind_of
from banditore.webhooks.store import store

log = logging.getLogger(__name__)


def _plain(answer: intake.Answer) -> HttpResponse:
    return HttpResponse(answer.text, status=answer.status, content_type="text/plain; charset=utf-8")


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
        return _plain(intake.Answer(503, "channel misconfigured"))
    if request.method == "GET":
        return _plain(intake.handshake(kind, config, request.GET))

    refused = intake.check_length(
        request.META.get("HTTP_TRANSFER_ENCODING"),
        request.META.get("CONTENT_LENGTH"),
        settings.WEBHOOK_MAX_BYTES,
    )
    if refused:
        return _plain(refused)
    length = int(request.META["CONTENT_LENGTH"])
    # The exact bytes (the signature covers them, not re-serialised JSON), read from the
    # stream so Django's own upload limit doesn't apply: ours was checked above.
    body = request.read(length)
    if len(body) != length:
        return _plain(intake.Answer(400, "body shorter than its length"))
    answer = intake.accept(kind, config, channel.pk, body, request.headers)
    if answer.event is not None:
        store([answer.event])
    return _plain(answer)
