"""At most five sign-ups per address per hour; the sixth gets 429 and is not stored."""

from datetime import timedelta

from django.utils import timezone

from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.public.conftest import english_client

from .helpers import sign_up

NUMBERS = [f"333 000 00{i:02d}" for i in range(10)]


def fill_the_hour(client):
    for number in NUMBERS[:5]:
        assert sign_up(client, phone=number).status_code == 302


def test_it_refuses_the_sixth_sign_up_from_one_address_in_an_hour(client, comune):
    fill_the_hour(client)

    response = sign_up(client, phone=NUMBERS[5])

    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "Too many sign-ups" in response.content.decode()
    # The way that still works is named: the comune's WhatsApp number.
    assert "+39 051 000 0001" in response.content.decode()
    assert Subscriber.objects.count() == 5


def test_it_counts_each_address_on_its_own(client, comune):
    fill_the_hour(client)

    other = english_client(REMOTE_ADDR="198.51.100.20")
    assert sign_up(other, phone=NUMBERS[5]).status_code == 302


def test_it_forgets_sign_ups_older_than_an_hour(client, comune):
    fill_the_hour(client)
    ConsentEvent.objects.update(occurred_at=timezone.now() - timedelta(minutes=61))

    assert sign_up(client, phone=NUMBERS[5]).status_code == 302


def test_it_counts_only_web_sign_ups_of_that_address(client, comune):
    fill_the_hour(client)
    ConsentEvent.objects.update(source=ConsentEvent.Source.WHATSAPP)

    assert sign_up(client, phone=NUMBERS[5]).status_code == 302


def test_it_still_shows_the_form_to_a_limited_address(client, comune):
    fill_the_hour(client)

    assert client.get("/iscriviti").status_code == 200
