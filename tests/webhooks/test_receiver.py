"""`banditore receive` as a real process over real HTTP: a 200 only once a body is stored,
many at once, several processes on one port, a 503 while the database is away.

What it answers to each kind of request is in test_endpoint_requests.py and
test_webhook_endpoint.py, against the same application served in the test process."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from banditore.channels.whatsapp.signature import sign
from banditore.webhooks.models import WebhookEvent
from tests import processes
from tests.factories import channel_of, make_comune
from tests.live_receiver import post
from tests.webhooks.bodies import body, message, status

SECRET = "sandbox-app-secret"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def channel():
    return channel_of(make_comune())


def signed(payload) -> tuple[bytes, str]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return raw, sign(raw, SECRET)


def test_a_signed_body_is_stored_before_the_200(channel):
    raw, signature = signed(body(messages=[message()]))
    with processes.receiver() as url:
        assert post(f"{url}/webhooks/whatsapp/{channel.pk}", raw, signature) == 200
        event = WebhookEvent.objects.get()  # already there: acknowledged means committed
    assert event.channel_id == channel.pk and event.has_messages and event.body == raw.decode()


@pytest.mark.parametrize("count", [1, 2], ids=["one-process", "two-processes"])
def test_many_posts_at_once_are_each_stored_once(channel, count):
    bodies = [signed(body(statuses=[status(f"w.{n}", "delivered")])) for n in range(300)]
    with processes.receiver("--processes", str(count)) as url:
        target = f"{url}/webhooks/whatsapp/{channel.pk}"
        with ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(lambda b: post(target, *b), bodies + bodies[:50]))
    assert set(codes) == {200}
    assert WebhookEvent.objects.count() == 300  # the 50 repeats acknowledged, not stored


def test_with_the_database_away_it_answers_503_so_the_provider_retries(channel):
    with processes.receiver(db_url="postgres://nobody@127.0.0.1:1/none") as url:
        raw, signature = signed(body(messages=[message()]))
        assert post(f"{url}/webhooks/whatsapp/{channel.pk}", raw, signature) == 503
    assert not WebhookEvent.objects.exists()
