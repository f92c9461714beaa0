"""The webhook endpoint (the receiver, over HTTP): only genuine, well-formed notifications
are stored."""

import json
import time

import pytest
from django.test import override_settings

from banditore.channels.whatsapp.signature import sign
from banditore.subscribers.models import Subscriber
from banditore.webhooks.models import WebhookEvent
from tests import live_receiver
from tests.factories import channel_of

SECRET = "sandbox-app-secret"


def inbound(text="ISCRIVIMI", sender="393331112222", wamid="wamid.A1", ts=None):
    # The citizen's time orders their commands, so by default it is now: after any
    # subscription the test set up by hand.
    ts = str(int(time.time())) if ts is None else ts
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "390510000001",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": [{"profile": {"name": "Ana"}, "wa_id": sender}],
                            "messages": [
                                {
                                    "from": sender,
                                    "id": wamid,
                                    "timestamp": ts,
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


def url(receiver, channel) -> str:
    return f"{receiver}/webhooks/whatsapp/{channel.pk}"


def post(receiver, channel, body: bytes, signature: str | None) -> int:
    return live_receiver.post(url(receiver, channel), body, signature)


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def test_it_stores_a_signed_notification_and_answers_200(receiver, channel):
    body = json.dumps(inbound()).encode()
    assert post(receiver, channel, body, sign(body, SECRET)) == 200
    event = WebhookEvent.objects.get()
    assert event.body == body.decode() and event.status == "pending"


def test_it_verifies_the_exact_bytes_not_reserialised_json(receiver, channel):
    # Meta escapes '/' and non-ASCII; re-serialising would change the bytes and the HMAC.
    body = json.dumps(inbound(text="Sì https://x.it/a"), ensure_ascii=True).replace("/", "\\/")
    raw = body.encode()
    assert post(receiver, channel, raw, sign(raw, SECRET)) == 200
    assert WebhookEvent.objects.get().body == body


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=", "sha256=deadbeef", "sha1=abc", "sign(other secret)"],
)
def test_it_refuses_missing_or_forged_signatures_and_stores_nothing(receiver, channel, signature):
    body = json.dumps(inbound()).encode()
    if signature == "sign(other secret)":
        signature = sign(body, "not-the-secret")
    assert post(receiver, channel, body, signature) == 403
    assert not WebhookEvent.objects.exists()
    assert not Subscriber.objects.exists()


def test_it_refuses_a_body_changed_after_signing(receiver, channel):
    body = json.dumps(inbound()).encode()
    signature = sign(body, SECRET)
    tampered = body.replace(b"ISCRIVIMI", b"CANCELLAMI")
    assert post(receiver, channel, tampered, signature) == 403
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"object": "x"}', b'{"object": "x", "entry": "no"}', b"\xff\xfe"],
)
def test_it_refuses_signed_but_malformed_bodies_and_stores_nothing(receiver, channel, body):
    assert post(receiver, channel, body, sign(body, SECRET)) == 400
    assert not WebhookEvent.objects.exists()


@override_settings(WEBHOOK_MAX_BYTES=1000)
def test_it_refuses_huge_bodies_before_reading_them(receiver, channel):
    body = json.dumps(inbound(text="x" * 5000)).encode()
    assert post(receiver, channel, body, sign(body, SECRET)) == 413
    assert not WebhookEvent.objects.exists()


def test_unknown_channel_is_404(receiver, channel):
    body = json.dumps(inbound()).encode()
    unknown = f"{receiver}/webhooks/whatsapp/{channel.pk + 999}"
    assert live_receiver.post(unknown, body, sign(body, SECRET)) == 404
    assert not WebhookEvent.objects.exists()


def test_a_channel_of_another_kind_is_404(receiver, channel):
    body = json.dumps(inbound()).encode()
    other = f"{receiver}/webhooks/telegram/{channel.pk}"
    assert live_receiver.post(other, body, sign(body, SECRET)) == 404
    assert not WebhookEvent.objects.exists()


def test_it_answers_metas_verification_handshake(receiver, channel):
    params = {"hub.mode": "subscribe", "hub.verify_token": "sandbox-verify-token"}
    ok = live_receiver.get(url(receiver, channel), {**params, "hub.challenge": "42"})
    assert ok == (200, b"42")
    wrong = {**params, "hub.verify_token": "guess", "hub.challenge": "42"}
    assert live_receiver.get(url(receiver, channel), wrong)[0] == 403
