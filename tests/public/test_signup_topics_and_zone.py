"""Topics and zone: chosen on the form, checked against the comune's own lists."""

from banditore.subscribers.models import Subscriber
from tests.factories import make_comune

from .helpers import make_zone, sign_up


def topic_ids(org, *slugs):
    return [str(org.topics.get(slug=s).pk) for s in slugs]


def test_it_keeps_the_topics_ticked(client, comune):
    sign_up(client, topics=topic_ids(comune, "viabilita", "eventi"))

    subscriber = Subscriber.objects.get()
    assert sorted(subscriber.topics.values_list("slug", flat=True)) == ["eventi", "viabilita"]


def test_it_follows_every_topic_when_none_is_ticked(client, comune):
    sign_up(client)

    subscriber = Subscriber.objects.get()
    assert subscriber.topics.count() == comune.topics.count()


def test_it_refuses_a_topic_id_that_is_not_on_the_list(client, comune):
    other = make_comune(slug="udine")

    for bad in ["999999", "nope", topic_ids(other, "eventi")[0]]:
        response = sign_up(client, "/c/pordenone/iscriviti", topics=[bad])

        html = response.content.decode()
        assert response.status_code == 200
        assert "Choose the topics from the list." in html
        assert 'id="id_topics_error"' in html
        assert 'aria-describedby="id_topics_helptext id_topics_error"' in html
        # The summary links to the first box of the group.
        assert 'href="#id_topics_0"' in html
    assert not Subscriber.objects.exists()


def test_it_offers_the_zones_only_when_the_comune_has_some(client, comune):
    assert 'name="zone"' not in client.get("/iscriviti").content.decode()

    make_zone(comune, "torre", "Torre")
    html = client.get("/iscriviti").content.decode()

    assert '<select name="zone"' in html
    assert "Torre" in html


def test_it_keeps_the_zone_chosen(client, comune):
    torre = make_zone(comune, "torre", "Torre")

    sign_up(client, zone=str(torre.pk))

    assert Subscriber.objects.get().zone == torre


def test_it_refuses_a_zone_of_another_comune(client, comune):
    make_zone(comune, "torre", "Torre")
    elsewhere = make_zone(make_comune(slug="udine"), "centro", "Centro")

    response = sign_up(client, "/c/pordenone/iscriviti", zone=str(elsewhere.pk))

    assert response.status_code == 200
    assert "Choose the area from the list." in response.content.decode()
    assert not Subscriber.objects.exists()


def test_it_keeps_the_optional_name(client, comune):
    sign_up(client, name="  Maria Rossi ")

    assert Subscriber.objects.get().name == "Maria Rossi"
