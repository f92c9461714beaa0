"""At most five sign-ups per address per hour; the sixth gets 429 and is not stored."""

from datetime import timedelta

from django.utils import timezone

from banditore.public.models import SignupAttempt
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import subscribe
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
    SignupAttempt.objects.update(at=timezone.now() - timedelta(minutes=61))

    assert sign_up(client, phone=NUMBERS[5]).status_code == 302
    # The old ones are gone as the new one is counted.
    assert SignupAttempt.objects.count() == 1


def test_a_form_for_a_known_number_counts_like_any_other(client, comune):
    """Else the limit would tell a stranger which numbers are already known: a known one
    changes nothing, and would not use up a place."""
    subscribe(comune, "+393330000000")
    for _ in range(5):
        assert sign_up(client, phone="333 000 0000").status_code == 302
    assert ConsentEvent.objects.filter(source=ConsentEvent.Source.WEB).count() == 0

    assert sign_up(client, phone=NUMBERS[5]).status_code == 429


def test_it_still_shows_the_form_to_a_limited_address(client, comune):
    fill_the_hour(client)

    assert client.get("/iscriviti").status_code == 200
