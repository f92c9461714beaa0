"""The public archive: what went out to subscribers, searchable, by topic, in pages; never
another comune's messages, never drafts, test sends or what was cancelled before it left."""

import pytest
from django.utils.timezone import localtime

from banditore.public import archive
from tests.factories import make_comune
from tests.public.archive_data import B, broadcast, draft_sent_as_test

pytestmark = pytest.mark.django_db


def test_it_lists_only_what_went_out_newest_first(client, comune):
    sent = broadcast(comune, "Mercato in piazza giovedì", ago=3)
    sending = broadcast(comune, "Strada chiusa in via Roma", B.SENDING, ago=1)
    paused = broadcast(comune, "Allerta meteo gialla", B.PAUSED, ago=2)
    broadcast(comune, "Bozza da non mostrare", B.DRAFT, started=False)
    broadcast(comune, "In attesa di approvazione", B.SUBMITTED, started=False)
    broadcast(comune, "Messo in pausa prima di partire", B.PAUSED, started=False)
    broadcast(comune, "Annullato prima dell'invio", B.CANCELLED, started=False)
    broadcast(comune, "Programmato per domani", B.SCHEDULED, started=False)
    draft_sent_as_test(comune, "Prova solo per l'ufficio")

    html = client.get("/archivio/").content.decode()

    assert "3 messages" in html
    assert html.index("Strada chiusa") < html.index("Allerta meteo") < html.index("Mercato")
    for hidden in (
        "Bozza",
        "approvazione",
        "prima di partire",
        "Annullato",
        "Programmato",
        "Prova",
    ):
        assert hidden not in html
    assert [b.pk for b in archive.published(comune)] == [sending.pk, paused.pk, sent.pk]


def test_another_comunes_messages_never_show(client, comune):
    udine = make_comune(slug="udine")
    broadcast(comune, "Notizia di Pordenone")
    other = broadcast(udine, "Notizia di Udine")

    html = client.get("/c/pordenone/archivio/").content.decode()
    assert "Notizia di Pordenone" in html and "Notizia di Udine" not in html
    assert client.get(f"/c/pordenone/archivio/{other.pk}/").status_code == 404
    assert client.get(f"/c/udine/archivio/{other.pk}/").status_code == 200
    # Two comuni: the bare address asks which one.
    assert "Choose your comune" in client.get("/archivio/").content.decode()


def test_it_searches_every_word_in_text_and_title(client, comune):
    broadcast(comune, "Chiusura della strada provinciale per lavori")
    broadcast(comune, "Domenica festa in piazza", title="Festa patronale")
    broadcast(comune, "Lavori in piazza")

    def found(q):
        return client.get("/archivio/", {"q": q}).content.decode()

    html = found("lavori strada")
    assert "Chiusura della strada" in html and "Lavori in piazza" not in html
    assert "1 message" in html
    assert "Festa patronale" in found("PATRONALE")
    assert "No message matches." in found("nevicata")
    assert 'value="lavori strada"' in found("  lavori   strada ")


def test_it_filters_by_topic_and_refuses_an_unknown_one(client, comune):
    broadcast(comune, "Strada chiusa", topics=["viabilita"])
    broadcast(comune, "Concerto in piazza", topics=["eventi"])
    broadcast(comune, "Per tutti")

    html = client.get("/archivio/", {"argomento": "viabilita"}).content.decode()
    assert "Strada chiusa" in html
    assert "Concerto" not in html and "Per tutti" not in html
    assert '<option value="viabilita" selected>' in html
    assert client.get("/archivio/", {"argomento": "nessuno"}).status_code == 404


def test_it_pages_and_the_links_keep_the_search(client, comune):
    for n in range(archive.PAGE_SIZE * 2 + 5):
        broadcast(comune, f"Avviso numero {n:03d}", topics=["viabilita"], ago=n)

    first = client.get("/archivio/", {"q": "avviso", "argomento": "viabilita"}).content.decode()
    assert "Avviso numero 000" in first and f"Avviso numero {archive.PAGE_SIZE:03d}" not in first
    assert first.count('class="archive-item"') == archive.PAGE_SIZE
    assert "Page 1 of 3" in first
    assert 'href="?q=avviso&amp;argomento=viabilita&amp;pagina=2"' in first

    last = client.get("/archivio/", {"q": "avviso", "argomento": "viabilita", "pagina": 3})
    html = last.content.decode()
    assert html.count('class="archive-item"') == 5
    assert "Avviso numero 044" in html and 'rel="next"' not in html
    # A page past the end, or not a number, shows a real page rather than an error.
    assert client.get("/archivio/", {"pagina": 99}).status_code == 200
    assert client.get("/archivio/", {"pagina": "x"}).status_code == 200


def test_a_message_has_its_own_page_with_text_date_and_topics(client, comune):
    item = broadcast(
        comune, "Strada chiusa in via Roma.\nDeviazione da via Verdi.", topics=["viabilita"]
    )
    draft = broadcast(comune, "Bozza", B.DRAFT, started=False)

    response = client.get(f"/archivio/{item.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html and "Strada chiusa in via Roma." in html
    assert "Strada chiusa in via Roma.\nDeviazione da via Verdi." in html
    assert 'href="/archivio/?argomento=viabilita"' in html
    assert f'<time datetime="{localtime(item.started_at).isoformat()[:19]}' in html
    assert client.get(f"/archivio/{draft.pk}/").status_code == 404
    assert client.get(f"/c/pordenone/archivio/{item.pk}/").status_code == 200
    assert client.get(f"/archivio/{item.pk + 1000}/").status_code == 404


def test_the_archive_links_its_pages_under_the_prefix_it_was_opened_by(client, comune):
    item = broadcast(comune, "Notizia")
    html = client.get("/c/pordenone/archivio/").content.decode()
    assert f'href="/c/pordenone/archivio/{item.pk}/"' in html
    assert 'href="/c/pordenone/archivio/rss/"' in html
