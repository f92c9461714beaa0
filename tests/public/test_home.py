"""The home page: what the service is, how to join and leave, that it never answers."""

import pytest

from banditore.channels.models import Channel
from banditore.core.models import Organization
from tests.factories import make_comune
from tests.public.archive_data import broadcast

pytestmark = pytest.mark.django_db


def test_the_home_page_tells_what_the_service_is_and_how_to_join_and_leave(client, comune):
    broadcast(comune, "Mercato giovedì in piazza")
    response = client.get("/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "<h1>" in html
    assert comune.description in html
    assert 'href="https://wa.me/390510000001?text=ISCRIVIMI"' in html
    assert "+39 051 000 0001" in html
    assert '<svg role="img"' in html and 'class="qr-code"' in html
    assert 'href="/iscriviti"' in html
    assert "CANCELLAMI" in html
    assert "get no answer" in html and "URP 800 000 000" in html
    for topic in comune.topics.all():
        assert f'href="/archivio/?argomento={topic.slug}"' in html
        assert topic.name in html
    assert 'href="/archivio/"' in html
    assert "Mercato giovedì in piazza" in html


def test_the_home_page_marks_itself_current_in_the_navigation(client, comune):
    html = client.get("/").content.decode()
    nav = html[html.index('aria-label="Main navigation"') :]
    assert 'class="nav-link active" href="/" aria-current="page"' in nav
    assert 'href="/privacy"' in nav and 'href="/archivio/"' in nav


def test_each_comune_has_its_home_under_its_prefix(client, comune):
    make_comune(slug="udine")
    Organization.objects.filter(slug="udine").update(name="Comune di Udine")
    html = client.get("/c/udine/").content.decode()
    assert "Comune di Udine" in html
    assert 'href="/c/udine/iscriviti"' in html and 'href="/c/udine/archivio/"' in html
    # The bare address lists the comuni, each to its home.
    chooser = client.get("/").content.decode()
    assert 'href="/c/pordenone/"' in chooser and 'href="/c/udine/"' in chooser
    assert client.get("/c/nessuno/").status_code == 404


def test_without_any_comune_the_home_page_is_not_found(client, db):
    assert client.get("/").status_code == 404


def test_a_comune_with_a_bot_shows_how_to_start_it(client, comune):
    assert "t.me/" not in client.get("/").content.decode()
    # The bot is shown beside the number, not instead of it.
    Channel.objects.create(
        organization=comune,
        kind=Channel.Kind.TELEGRAM,
        name="Telegram",
        config={
            "api_base_url": "https://api.telegram.org",
            "bot_token": "123456789:token-del-comune",
            "bot_username": "ComunePordenoneBot",
            "webhook_secret": "segreto",
        },
    )
    html = client.get("/").content.decode()
    assert 'href="https://t.me/ComunePordenoneBot"' in html
    assert html.count('class="qr-code"') == 2
    assert 'href="https://wa.me/390510000001?text=ISCRIVIMI"' in html
