"""`banditore receive`, the asynchronous receiver, as a real process over real HTTP: the
same URL and the same judgement as the Django view, and a 200 only once a body is stored."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from banditore.channels.whatsapp.signature import sign
from banditore.webhooks.models import WebhookEvent
from tests import processes
from tests.factories import channel_of, make_comune
from tests.webhooks.bodies import body, message, status

SECRET = "sandbox-app-secret"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def channel():
    return channel_of(make_comune())


@pytest.fixture
def receiver(channel):
    connection.close()  # SQLite: release our handle's locks before another process writes
    port = processes.free_port()
    env = {**os.environ, "DATABASE_URL": processes.database_url()}
    argv = [sys.executable, "-m", "banditore", "receive", "--bind", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, cwd=processes.ROOT, env=env)
    try:
        processes._wait_port(port, proc)
        yield f"http://127.0.0.1:{port}/webhooks/whatsapp/{channel.pk}"
    finally:
        processes.stop(proc)


def post(url: str, raw: bytes, signature: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    request = urllib.request.Request(url, data=raw, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def signed(payload) -> tuple[bytes, str]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return raw, sign(raw, SECRET)


def test_a_signed_body_is_stored_before_the_200(receiver, channel):
    raw, signature = signed(body(messages=[message()]))
    assert post(receiver, raw, signature) == 200
    event = WebhookEvent.objects.get()  # already there: acknowledged means committed
    assert event.channel_id == channel.pk and event.has_messages and event.body == raw.decode()


def test_many_posts_at_once_are_each_stored_once(receiver):
    bodies = [signed(body(statuses=[status(f"w.{n}", "delivered")])) for n in range(300)]
    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(lambda b: post(receiver, *b), bodies + bodies[:50]))
    assert set(codes) == {200}
    assert WebhookEvent.objects.count() == 300  # the 50 repeats acknowledged, not stored


def test_forged_or_malformed_bodies_are_refused_and_nothing_is_stored(receiver):
    raw, _ = signed(body(messages=[message()]))
    assert post(receiver, raw, sign(raw, "not-the-secret")) == 403
    assert post(receiver, raw) == 403
    assert post(receiver, *signed(b"[" * 100_000 + b"]" * 100_000)) == 400
    assert post(receiver, *signed(b'{"object": "x", "entry": "no"}')) == 400
    assert post(receiver, *signed(b"\xff\xfe")) == 400
    assert not WebhookEvent.objects.exists()


def raw_status(url: str, head: str, payload: bytes) -> int:
    host, rest = url.removeprefix("http://").split(":", 1)
    port, path = rest.split("/", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        start = f"POST /{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{head}\r\n\r\n"
        conn.sendall(start.encode() + payload)
        line = conn.makefile("rb").readline()
    return int(line.split()[1])


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_a_bad_content_length_is_400(receiver, length):
    raw, signature = signed(body(messages=[message()]))
    head = f"X-Hub-Signature-256: {signature}\r\nContent-Length: {length}"
    assert raw_status(receiver, head, raw) == 400
    assert not WebhookEvent.objects.exists()


def test_a_chunked_body_is_refused(receiver):
    raw, signature = signed(body(messages=[message()]))
    chunked = f"{len(raw):x}\r\n".encode() + raw + b"\r\n0\r\n\r\n"
    head = f"X-Hub-Signature-256: {signature}\r\nTransfer-Encoding: chunked"
    assert raw_status(receiver, head, chunked) == 411
    assert not WebhookEvent.objects.exists()


def test_a_non_ascii_signature_header_is_403(receiver):
    raw, _ = signed(body(messages=[message()]))
    head = f"X-Hub-Signature-256: sha256=é☃\r\nContent-Length: {len(raw)}"
    assert raw_status(receiver, head, raw) == 403


def test_the_handshake_and_an_unknown_channel(receiver):
    query = "?hub.mode=subscribe&hub.verify_token=sandbox-verify-token&hub.challenge=42"
    with urllib.request.urlopen(receiver + query, timeout=10) as response:
        assert response.read() == b"42"
    with (
        contextlib.suppress(urllib.error.HTTPError),
        urllib.request.urlopen(
            receiver + query.replace("sandbox-verify-token", "guess"), timeout=10
        ),
    ):
        raise AssertionError("a wrong verify token was accepted")
    unknown = receiver.rsplit("/", 1)[0] + "/999999"
    assert post(unknown, *signed(body(messages=[message()]))) == 404


def test_with_the_database_away_it_answers_503_so_the_provider_retries(channel):
    port = processes.free_port()
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    argv = [sys.executable, "-m", "banditore", "receive", "--bind", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, cwd=processes.ROOT, env=env)
    try:
        processes._wait_port(port, proc)
        url = f"http://127.0.0.1:{port}/webhooks/whatsapp/{channel.pk}"
        assert post(url, *signed(body(messages=[message()]))) == 503
    finally:
        processes.stop(proc)
