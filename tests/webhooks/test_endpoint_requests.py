"""Whatever arrives at the endpoint, malformed or hostile, gets a 4xx and stores nothing."""

import json
import socket

import pytest
from django.test import override_settings

from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.signature import sign
from banditore.channels.whatsapp.webhooks import READER
from banditore.webhooks.models import WebhookEvent
from tests.factories import channel_of
from tests.webhooks.bodies import body, message

SECRET = "sandbox-app-secret"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def url(channel):
    return f"/webhooks/whatsapp/{channel.pk}"


def signed(payload) -> tuple[bytes, str]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return raw, sign(raw, SECRET)


def test_a_non_ascii_signature_header_is_403(client, channel):
    raw, _ = signed(body(messages=[message()]))
    response = client.post(
        url(channel), raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256="sha256=é☃"
    )
    assert response.status_code == 403


def test_100000_deep_nesting_is_400(client, channel):
    raw, signature = signed(b"[" * 100_000 + b"]" * 100_000)
    response = client.post(
        url(channel), raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature
    )
    assert response.status_code == 400
    nested = b'{"object": "x", "entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    raw, signature = signed(nested)
    response = client.post(
        url(channel), raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_body_stored_once_is_not_stored_again(client, channel):
    raw, signature = signed(body(messages=[message()]))
    for _ in range(3):
        response = client.post(
            url(channel), raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature
        )
        assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("token", "expected"),
    [("sandbox-verify-token", 200), ("", 403), ("sandbox-verify-tokeN", 403), ("é", 403)],
)
def test_the_handshake_compares_the_token(client, channel, token, expected):
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "7"}
    assert client.get(url(channel), params).status_code == expected


def test_an_empty_verify_token_accepts_no_one(channel):
    # The settings refuse an empty token; the reader refuses it too, should one slip by.
    config = WhatsAppConfig.model_construct(**{**channel.config, "verify_token": ""})
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "7"}
    assert READER.handshake(config, params) is None


# -- Over a real socket, because a test client can't send a broken request line or header.


def raw_request(server, channel, head: str, payload: bytes = b"") -> int:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head.format(path=url(channel)).encode() + b"\r\n\r\n" + payload)
        status_line = conn.makefile("rb").readline()
    return int(status_line.split()[1])


def headers(signature: str, extra: str, content_type: str = "application/json") -> str:
    return (
        f"POST {{path}} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
        f"Connection: close\r\nX-Hub-Signature-256: {signature}\r\n{extra}"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "length", ["abc", "-5", "1e3", "٣"], ids=["letters", "negative", "float", "arabic-digit"]
)
def test_a_content_length_that_is_not_a_number_is_400(live_server, length):
    from tests.factories import make_comune

    channel = channel_of(make_comune())
    raw, signature = signed(body(messages=[message()]))
    status = raw_request(live_server, channel, headers(signature, f"Content-Length: {length}"), raw)
    assert 400 <= status < 500
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_is_411(live_server):
    from tests.factories import make_comune

    channel = channel_of(make_comune())
    raw, signature = signed(body(messages=[message()]))
    chunked = f"{len(raw):x}\r\n".encode() + raw + b"\r\n0\r\n\r\n"
    status = raw_request(
        live_server, channel, headers(signature, "Transfer-Encoding: chunked"), chunked
    )
    assert 400 <= status < 500
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_non_ascii_signature_header_over_the_wire_is_403(live_server):
    from tests.factories import make_comune

    channel = channel_of(make_comune())
    raw, _ = signed(body(messages=[message()]))
    head = headers("sha256=\u00e9\u00ff", f"Content-Length: {len(raw)}")
    assert raw_request(live_server, channel, head, raw) == 403


@override_settings(WEBHOOK_MAX_BYTES=1000)
def test_a_declared_length_over_the_limit_is_413(client, channel):
    raw, signature = signed(body(messages=[message(text="x" * 5000)]))
    response = client.post(
        url(channel), raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature
    )
    assert response.status_code == 413


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("content_type", "encoding", "expected"),
    [
        ("application/json; charset=latin-1", "utf-8", 200),
        ("application/x-junk; charset=nonsense", "utf-8", 200),
        ("application/json; charset=utf-16", "utf-16", 400),
    ],
)
def test_a_body_is_read_as_the_utf8_bytes_it_is_whatever_its_charset(
    live_server, content_type, encoding, expected
):
    from tests.factories import make_comune

    channel = channel_of(make_comune())
    raw, signature = signed(json.dumps(body(messages=[message(text="Sì")])).encode(encoding))
    head = headers(signature, f"Content-Length: {len(raw)}", content_type)
    assert raw_request(live_server, channel, head, raw) == expected
    assert WebhookEvent.objects.count() == (expected == 200)
