"""The webhook endpoint: only genuine, well-formed notifications are stored."""

import json
import time

import pytest
from django.test import override_settings

from banditore.channels.whatsapp.signature import sign
from banditore.subscribers.models import Subscriber
from banditore.webhooks.models import WebhookEvent
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


def post(client, channel, body: bytes, signature: str | None):
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature is not None else {}
    return client.post(
        f"/webhooks/whatsapp/{channel.pk}", body, content_type="application/json", **headers
    )


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def test_it_stores_a_signed_notification_and_answers_200(client, channel):
    body = json.dumps(inbound()).encode()
    response = post(client, channel, body, sign(body, SECRET))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.body == body.decode() and event.status == "pending"


def test_it_verifies_the_exact_bytes_not_reserialised_json(client, channel):
    # Meta escapes '/' and non-ASCII; re-serialising would change the bytes and the HMAC.
    body = json.dumps(inbound(text="Sì https://x.it/a"), ensure_ascii=True).replace("/", "\\/")
    raw = body.encode()
    assert post(client, channel, raw, sign(raw, SECRET)).status_code == 200


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=", "sha256=deadbeef", "sha1=abc", "sign(other secret)"],
)
def test_it_refuses_missing_or_forged_signatures_and_stores_nothing(client, channel, signature):
    body = json.dumps(inbound()).encode()
    if signature == "sign(other secret)":
        signature = sign(body, "not-the-secret")
    response = post(client, channel, body, signature)
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert not Subscriber.objects.exists()


def test_it_refuses_a_body_changed_after_signing(client, channel):
    body = json.dumps(inbound()).encode()
    signature = sign(body, SECRET)
    tampered = body.replace(b"ISCRIVIMI", b"CANCELLAMI")
    assert post(client, channel, tampered, signature).status_code == 403
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"object": "x"}', b'{"object": "x", "entry": "no"}', b"\xff\xfe"],
)
def test_it_refuses_signed_but_malformed_bodies_and_stores_nothing(client, channel, body):
    assert post(client, channel, body, sign(body, SECRET)).status_code == 400
    assert not WebhookEvent.objects.exists()


@override_settings(WEBHOOK_MAX_BYTES=1000)
def test_it_refuses_huge_bodies_before_reading_them(client, channel):
    body = json.dumps(inbound(text="x" * 5000)).encode()
    assert post(client, channel, body, sign(body, SECRET)).status_code == 413
    assert not WebhookEvent.objects.exists()


def test_unknown_channel_is_404(client, channel):
    body = json.dumps(inbound()).encode()
    response = client.post("/webhooks/whatsapp/999", body, content_type="application/json")
    assert response.status_code == 404


def test_it_answers_metas_verification_handshake(client, channel):
    url = f"/webhooks/whatsapp/{channel.pk}"
    ok = client.get(
        url,
        {
            "hub.mode": "subscribe",
            "hub.verify_token": "sandbox-verify-token",
            "hub.challenge": "42",
        },
    )
    assert ok.status_code == 200 and ok.content == b"42"
    wrong = client.get(
        url, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "42"}
    )
    assert wrong.status_code == 403
