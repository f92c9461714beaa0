"""The page after the form: the code, the wa.me link, the QR code, and what happens next."""

import re

from banditore.subscribers import service
from banditore.subscribers.models import Subscriber
from tests.factories import make_comune

from .helpers import sign_up, signed_up_page


def test_it_shows_the_code_the_whatsapp_link_and_a_qr_code(client, comune):
    page = signed_up_page(client)

    html = page.content.decode()
    code = Subscriber.objects.get().confirmation_code
    assert page.status_code == 200
    assert "Your number is not active yet." in html
    assert f'href="https://wa.me/390510000001?text=ISCRIVIMI%20{code}"' in html
    assert f'<span class="code-value">{code}</span>' in html
    assert re.search(r'<svg role="img"[^>]*class="qr-code"><title>QR code', html)
    assert f"<strong>ISCRIVIMI {code}</strong>" in html
    assert "+39 051 000 0001" in html
    assert "within 7 days" in html
    assert "ending in 5528" in html


def test_it_keeps_the_number_out_of_the_address(client, comune):
    response = sign_up(client, phone="333.9135528")

    location = response["Location"]
    assert "9135528" not in location
    assert "5528" not in location
    assert "%2B39" not in location


def test_it_is_never_cached(client, comune):
    page = signed_up_page(client)

    assert "no-store" in page["Cache-Control"]
    assert 'name="robots" content="noindex, nofollow"' in page.content.decode()


def test_it_says_the_comune_approves_when_it_does(client, comune):
    comune.require_approval = True
    comune.save()

    page = signed_up_page(client)

    assert "the comune's staff approves the sign-up" in page.content.decode()


def test_it_says_the_number_is_active_once_the_message_arrived(client, comune):
    response = sign_up(client)
    service.confirm_number(comune, "+393339135528", evidence={"test": True})

    html = client.get(response["Location"]).content.decode()

    assert "You are subscribed" in html
    assert "wa.me" not in html


def test_it_says_an_operator_must_approve_a_confirmed_number(client, comune):
    comune.require_approval = True
    comune.save()
    response = sign_up(client)
    service.confirm_number(comune, "+393339135528", evidence={"test": True})

    html = client.get(response["Location"]).content.decode()

    assert "Waiting for approval" in html


def test_it_says_a_cancelled_sign_up_is_no_longer_valid(client, comune):
    response = sign_up(client)
    service.unsubscribe(comune, "+393339135528", source="whatsapp", evidence={})

    html = client.get(response["Location"]).content.decode()

    assert "This sign-up is no longer valid" in html
    assert 'href="/iscriviti"' in html


def test_it_refuses_a_forged_or_mangled_link(client, comune):
    response = sign_up(client)

    assert client.get(response["Location"] + "x").status_code == 404
    assert client.get("/iscriviti/eyJzIjoxfQ:1xVS6E:forged").status_code == 404


def test_it_refuses_a_link_under_another_comune(client, comune):
    make_comune(slug="udine")
    response = sign_up(client, url="/c/pordenone/iscriviti")
    token = response["Location"].rsplit("/", 1)[1]

    assert client.get(f"/c/pordenone/iscriviti/{token}").status_code == 200
    assert client.get(f"/c/udine/iscriviti/{token}").status_code == 404


def test_it_still_gives_the_code_when_the_channel_has_no_number_yet(client, comune):
    channel = comune.channels.get()
    channel.config = {**channel.config, "display_phone_number": ""}
    channel.save()

    html = signed_up_page(client).content.decode()

    code = Subscriber.objects.get().confirmation_code
    assert f"<strong>ISCRIVIMI {code}</strong>" in html
    assert "wa.me" not in html
