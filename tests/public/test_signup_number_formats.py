"""The number as people type it: normalised to E.164, or refused with a clear message."""

import pytest

from banditore.subscribers.models import ConsentEvent, Subscriber

from .helpers import sign_up


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("333.9135528", "+393339135528"),
        ("331 651 1331", "+393316511331"),
        ("+39 333 123 4567", "+393331234567"),
        ("0039 333 123 4567", "+393331234567"),
        ("(+39) 333-123-4567", "+393331234567"),
    ],
)
def test_it_stores_an_italian_number_as_e164_however_it_is_typed(client, comune, typed, stored):
    response = sign_up(client, phone=typed)

    assert response.status_code == 302
    assert Subscriber.objects.get(organization=comune).phone == stored


def test_it_accepts_a_valid_number_of_another_country(client, comune):
    response = sign_up(client, phone="+41 79 123 45 67")

    assert response.status_code == 302
    assert Subscriber.objects.get().phone == "+41791234567"


def test_it_asks_for_the_number_when_it_is_missing(client, comune):
    response = sign_up(client, phone="")

    assert response.status_code == 200
    assert "Enter your mobile number." in response.content.decode()
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("typed", ["abc", "12345", "+39 333", "+1 555 0100"])
def test_it_refuses_an_invalid_number_next_to_the_field(client, comune, typed):
    response = sign_up(client, phone=typed)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_phone_error"' in html
    assert "does not look like a valid phone number" in html
    assert 'aria-describedby="id_phone_helptext id_phone_error"' in html
    assert 'aria-invalid="true"' in html
    # What the person typed stays in the field, to be corrected.
    assert f'value="{typed}"' in html
    assert not Subscriber.objects.exists()
    assert not ConsentEvent.objects.exists()


def test_it_refuses_a_number_too_long_to_be_one(client, comune):
    response = sign_up(client, phone="3" * 40)

    assert response.status_code == 200
    assert "too long for a phone number" in response.content.decode()
    assert not Subscriber.objects.exists()
