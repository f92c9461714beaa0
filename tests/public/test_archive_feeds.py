"""The archive's RSS and Atom feeds, whole and per topic, parsed as a feed reader would."""

import xml.etree.ElementTree as ET

import pytest

from tests.factories import make_comune
from tests.public.archive_data import B, broadcast, draft_sent_as_test

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def rss_items(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(response.content).find("channel")
    return channel, channel.findall("item")


def test_the_rss_feed_has_what_went_out_with_links_dates_and_topics(client, comune):
    older = broadcast(comune, "Mercato giovedì", topics=["eventi"], ago=5)
    newer = broadcast(comune, "Strada chiusa <via Roma>\nDeviazione", topics=["viabilita"])
    broadcast(comune, "Bozza", B.DRAFT, started=False)
    draft_sent_as_test(comune, "Prova dell'ufficio")
    broadcast(make_comune(slug="udine"), "Notizia di Udine")

    channel, items = rss_items(client, "/c/pordenone/archivio/rss/")
    assert "Comune di Pordenone" in channel.findtext("title")
    assert channel.findtext("link") == "http://testserver/c/pordenone/archivio/"
    assert [i.findtext("title") for i in items] == ["Strada chiusa <via Roma>", "Mercato giovedì"]
    first = items[0]
    assert first.findtext("link") == f"http://testserver/c/pordenone/archivio/{newer.pk}/"
    # Readers take the description as HTML: the text's own "<" arrives escaped.
    assert first.findtext("description") == "Strada chiusa &lt;via Roma&gt;<br>Deviazione"
    assert [c.text for c in first.findall("category")] == ["Viabilità"]
    assert first.findtext("pubDate")
    assert items[1].findtext("link").endswith(f"/archivio/{older.pk}/")


def test_the_atom_feed_says_the_same(client, comune):
    item = broadcast(comune, "Allerta meteo", title="Allerta gialla")
    response = client.get("/archivio/atom/")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Allerta gialla"]
    assert entries[0].find(f"{ATOM}link").get("href") == f"http://testserver/archivio/{item.pk}/"
    assert entries[0].findtext(f"{ATOM}updated")


def test_a_topics_feed_has_only_that_topic(client, comune):
    broadcast(comune, "Strada chiusa", topics=["viabilita"])
    broadcast(comune, "Concerto", topics=["eventi"])

    channel, items = rss_items(client, "/archivio/argomento/viabilita/rss/")
    assert [i.findtext("title") for i in items] == ["Strada chiusa"]
    assert "Viabilità" in channel.findtext("title")
    assert channel.findtext("link") == "http://testserver/archivio/?argomento=viabilita"

    atom = ET.fromstring(client.get("/c/pordenone/archivio/argomento/eventi/atom/").content)
    assert [e.findtext(f"{ATOM}title") for e in atom.findall(f"{ATOM}entry")] == ["Concerto"]
    assert client.get("/archivio/argomento/nessuno/rss/").status_code == 404


def test_a_feed_never_carries_another_comunes_topic(client, comune):
    udine = make_comune(slug="udine")
    broadcast(udine, "Strada chiusa a Udine", topics=["viabilita"])
    _, items = rss_items(client, "/c/pordenone/archivio/argomento/viabilita/rss/")
    assert items == []
    # Two comuni: the bare feed can't tell which one.
    assert client.get("/archivio/rss/").status_code == 404
