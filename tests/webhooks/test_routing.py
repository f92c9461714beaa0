"""One Meta app, one callback URL, several comuni: each item goes to the number it names."""

import json

import pytest

from banditore.channels.models import Channel
from banditore.channels.whatsapp.signature import sign
from banditore.subscribers.models import Subscriber
from banditore.webhooks.models import WebhookItemFailure
from banditore.webhooks.tasks import apply_pending_events
from tests import live_receiver
from tests.factories import channel_of, make_comune
from tests.webhooks.bodies import NUMBER_ID, body, message

SECRET = "sandbox-app-secret"
B_NUMBER = "222000000000002"
CITIZEN = "+393331112222"


@pytest.fixture
def comune_a(comune):
    return comune


def second_comune(secret: str):
    org = make_comune(slug="sacile")
    org.name = "Comune di Sacile"
    org.save()
    channel = channel_of(org)
    channel.config = {**channel.config, "phone_number_id": B_NUMBER, "app_secret": secret}
    channel.save()
    return org, channel


def post(receiver, channel: Channel, payload: dict, secret: str = SECRET) -> int:
    raw = json.dumps(payload).encode()
    return live_receiver.post(f"{receiver}/webhooks/whatsapp/{channel.pk}", raw, sign(raw, secret))


def test_a_citizen_writing_to_comune_b_is_subscribed_to_b_not_a(receiver, comune_a):
    org_b, _ = second_comune(SECRET)  # the same Meta app: the same secret
    url_channel = channel_of(comune_a)  # Meta knows one callback URL: comune A's
    assert post(receiver, url_channel, body(messages=[message()], number_id=B_NUMBER)) == 200
    apply_pending_events()
    [subscriber] = Subscriber.objects.filter(phone=CITIZEN)
    assert subscriber.organization == org_b and subscriber.status == "active"


def test_one_body_for_two_numbers_reaches_both(receiver, comune_a):
    org_b, _ = second_comune(SECRET)
    payload = body(messages=[message(wamid="wamid.a")])
    payload["entry"] += body(messages=[message(wamid="wamid.b")], number_id=B_NUMBER)["entry"]
    assert post(receiver, channel_of(comune_a), payload) == 200
    apply_pending_events()
    orgs = set(Subscriber.objects.values_list("organization__slug", flat=True))
    assert orgs == {comune_a.slug, org_b.slug}


def test_a_body_signed_with_another_apps_secret_cannot_reach_its_numbers(receiver, comune_a):
    second_comune("comune-b-own-secret")  # B is its own Meta app
    payload = body(messages=[message()], number_id=B_NUMBER)
    assert post(receiver, channel_of(comune_a), payload) == 200  # genuine for A; B's is refused
    apply_pending_events()
    assert not Subscriber.objects.exists()
    [refused] = WebhookItemFailure.objects.all()
    assert B_NUMBER in refused.error


def test_an_unknown_number_is_refused_and_recorded(receiver, comune_a):
    assert post(receiver, channel_of(comune_a), body(messages=[message()], number_id="999")) == 200
    apply_pending_events()
    assert not Subscriber.objects.exists()
    assert WebhookItemFailure.objects.get().kind == "message"


def test_the_urls_own_number_still_applies(receiver, comune_a):
    payload = body(messages=[message()], number_id=NUMBER_ID)
    assert post(receiver, channel_of(comune_a), payload) == 200
    apply_pending_events()
    assert Subscriber.objects.get(phone=CITIZEN).organization == comune_a
