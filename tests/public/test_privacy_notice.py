"""The privacy notice (GDPR art. 13), built from the comune's own facts."""

from django.utils.html import escape

from tests.factories import make_comune


def test_it_shows_the_version_and_the_controller(client, comune):
    comune.controller = "Comune di Pordenone, Corso Vittorio Emanuele II 64, PEC comune@pec.example"
    comune.dpo_contact = "rpd@comune.example"
    comune.save()

    response = client.get("/privacy")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<p class="version"><strong>Version 1</strong>, published on' in html
    assert "Corso Vittorio Emanuele II 64" in html
    assert "rpd@comune.example" in html
    assert escape(comune.legal_basis) in html


def test_it_names_the_comune_when_no_controller_is_written(client, comune):
    html = client.get("/privacy").content.decode()

    assert "Comune di Pordenone, in the person of the Mayor pro tempore" in html


def test_it_says_what_article_13_asks(client, comune):
    comune.signup_expiry_days = 5
    comune.proof_retention_days = 730
    comune.inbound_retention_days = 30
    comune.save()

    html = client.get("/privacy").content.decode()

    assert "Meta Platforms Ireland" in html
    assert "data processor" in html
    assert "Data Privacy Framework" in html
    assert "after 5 days" in html
    assert "for 730 days" in html
    assert "write to the number: 30 days" in html
    assert "portability" in html
    assert "Garante per la protezione dei dati personali" in html
    assert "optional" in html
    assert "No decision about you is taken by automated means" in html
    assert escape(comune.description) in html


def test_it_lists_the_commands(client, comune):
    html = client.get("/privacy").content.decode()

    for command in ("ISCRIVIMI", "CANCELLAMI / STOP", "INFO", "TEMI", "I MIEI DATI"):
        assert f"<dt>{command}</dt>" in html
    assert "+39 051 000 0001" in html


def test_it_is_there_for_each_comune_under_its_own_address(client, comune):
    other = make_comune(slug="udine")
    other.name = "Comune di Udine"
    other.save()
    client.get("/c/udine/privacy")
    other.dpo_contact = "rpd@udine.example"
    other.save()

    html = client.get("/c/udine/privacy").content.decode()

    assert "Comune di Udine" in html
    assert "<strong>Version 2</strong>" in html
    assert "<strong>Version 1</strong>" in client.get("/c/pordenone/privacy").content.decode()
    assert client.get("/c/nowhere/privacy").status_code == 404
