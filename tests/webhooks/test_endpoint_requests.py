"""Whatever arrives at the endpoint, malformed or hostile, gets a 4xx and stores nothing.

Some of these requests are broken below HTTP's own grammar (a Content-Length that is not a
number): aiohttp's parser may answer those itself, which is fine as long as it is a 4xx.
"""

import json

import pytest
from django.test import override_settings

from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.signature import sign
from banditore.channels.whatsapp.webhooks import READER
from banditore.webhooks.models import WebhookEvent
from tests.factories import channel_of
from tests.live_receiver import get, post, raw_request
from tests.webhooks.bodies import body, message

SECRET = "sandbox-app-secret"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


@pytest.fixture
def url(receiver, channel):
    return f"{receiver}/webhooks/whatsapp/{channel.pk}"


def signed(payload) -> tuple[bytes, str]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return raw, sign(raw, SECRET)


def test_a_non_ascii_signature_header_is_403(url):
    raw, _ = signed(body(messages=[message()]))
    assert post(url, raw, "sha256=é☃".encode()) == 403
    assert not WebhookEvent.objects.exists()


def test_100000_deep_nesting_is_400(url):
    assert post(url, *signed(b"[" * 100_000 + b"]" * 100_000)) == 400
    nested = b'{"object": "x", "entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert post(url, *signed(nested)) == 400
    assert not WebhookEvent.objects.exists()


def test_a_body_stored_once_is_not_stored_again(url):
    raw, signature = signed(body(messages=[message()]))
    for _ in range(3):
        assert post(url, raw, signature) == 200
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("token", "expected"),
    [("sandbox-verify-token", 200), ("", 403), ("sandbox-verify-tokeN", 403), ("é", 403)],
)
def test_the_handshake_compares_the_token(url, token, expected):
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "7"}
    status, answer = get(url, params)
    assert status == expected
    assert (answer == b"7") == (expected == 200)


def test_an_empty_verify_token_accepts_no_one(channel):
    # The settings refuse an empty token; the reader refuses it too, should one slip by.
    config = WhatsAppConfig.model_construct(**{**channel.config, "verify_token": ""})
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "7"}
    assert READER.handshake(config, params) is None


# -- Over a raw socket, because no client library sends a broken header.


def headers(signature: str, extra: str, content_type: str = "application/json") -> str:
    return f"Content-Type: {content_type}\r\nX-Hub-Signature-256: {signature}\r\n{extra}"


@pytest.mark.parametrize(
    "length", ["abc", "-5", "1e3", "٣"], ids=["letters", "negative", "float", "arabic-digit"]
)
def test_a_content_length_that_is_not_a_number_is_400(url, length):
    raw, signature = signed(body(messages=[message()]))
    assert raw_request(url, headers(signature, f"Content-Length: {length}"), raw) == 400
    assert not WebhookEvent.objects.exists()


def test_a_post_without_a_length_is_411(url):
    # Without a length the body is empty to HTTP, so nothing follows the headers.
    _, signature = signed(body(messages=[message()]))
    assert raw_request(url, headers(signature, "Accept: */*")) == 411
    assert not WebhookEvent.objects.exists()


def test_a_chunked_body_is_411(url):
    raw, signature = signed(body(messages=[message()]))
    chunked = f"{len(raw):x}\r\n".encode() + raw + b"\r\n0\r\n\r\n"
    assert raw_request(url, headers(signature, "Transfer-Encoding: chunked"), chunked) == 411
    assert not WebhookEvent.objects.exists()


def test_a_non_ascii_signature_header_over_the_wire_is_403(url):
    raw, _ = signed(body(messages=[message()]))
    head = headers("sha256=\u00e9\u00ff", f"Content-Length: {len(raw)}")
    assert raw_request(url, head, raw) == 403
    assert not WebhookEvent.objects.exists()


@override_settings(WEBHOOK_MAX_BYTES=1000)
def test_a_declared_length_over_the_limit_is_413(url):
    raw, signature = signed(body(messages=[message(text="x" * 5000)]))
    assert post(url, raw, signature) == 413
    assert not WebhookEvent.objects.exists()


@override_settings(WEBHOOK_MAX_BYTES=1000)
def test_a_huge_declared_length_is_413_without_waiting_for_the_body(url):
    # 10 GB announced, 10 bytes sent: the answer comes before any body is read.
    head = headers("sha256=00", f"Content-Length: {10 * 1024**3}")
    assert raw_request(url, head, b"0123456789") == 413
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("content_type", "encoding", "expected"),
    [
        ("application/json; charset=latin-1", "utf-8", 200),
        ("application/x-junk; charset=nonsense", "utf-8", 200),
        ("application/json; charset=utf-16", "utf-16", 400),
    ],
)
def test_a_body_is_read_as_the_utf8_bytes_it_is_whatever_its_charset(
    url, content_type, encoding, expected
):
    raw, signature = signed(json.dumps(body(messages=[message(text="Sì")])).encode(encoding))
    head = headers(signature, f"Content-Length: {len(raw)}", content_type)
    assert raw_request(url, head, raw) == expected
    assert WebhookEvent.objects.count() == (expected == 200)
