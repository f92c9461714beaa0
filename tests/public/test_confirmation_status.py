"""The confirmation page notices by itself when the number is proven: it polls a small JSON
state under its own token, and loads the script that does so only while it waits."""

from banditore.subscribers import service
from tests.factories import make_comune

from .helpers import form, sign_up, signed_up_page


def status_url(response) -> str:
    return response["Location"] + "/stato"


def test_the_page_waits_with_its_state_address_and_script(client, comune):
    response = sign_up(client)
    html = client.get(response["Location"]).content.decode()
    assert f'data-status-url="{status_url(response)}"' in html
    assert '<script src="/static/public/confirmation.js" nonce="' in html


def test_the_state_turns_active_once_the_code_arrives(client, comune):
    response = sign_up(client)
    pending = client.get(status_url(response))
    assert pending.status_code == 200 and pending.json() == {"state": "pending"}
    assert "no-store" in pending["Cache-Control"]

    service.confirm_number(comune, "+393339135528", evidence={"test": True})

    assert client.get(status_url(response)).json() == {"state": "active"}
    page = client.get(response["Location"]).content.decode()
    assert "You are subscribed" in page and "confirmation.js" not in page


def test_the_state_says_approval_when_the_comune_approves(client, comune):
    comune.require_approval = True
    comune.save()
    response = sign_up(client)
    service.confirm_number(comune, "+393339135528", evidence={"test": True})
    assert client.get(status_url(response)).json() == {"state": "approval"}


def test_a_honeypot_sign_up_stays_pending_like_a_real_one(client, comune):
    response = client.post("/iscriviti", form(website="http://spam.example"))
    assert client.get(status_url(response)).json() == {"state": "pending"}


def test_a_forged_or_foreign_token_gets_nothing(client, comune):
    make_comune(slug="udine")
    response = sign_up(client, url="/c/pordenone/iscriviti")
    token = response["Location"].rsplit("/", 1)[1]
    assert client.get(f"/c/pordenone/iscriviti/{token}/stato").json() == {"state": "pending"}
    assert client.get(f"/c/udine/iscriviti/{token}/stato").status_code == 404
    assert client.get("/c/pordenone/iscriviti/forged:1:x/stato").status_code == 404


def test_the_page_itself_still_works_for_a_decoy(client, comune):
    page = signed_up_page(client, website="bot")
    assert "Your number is not active yet." in page.content.decode()
