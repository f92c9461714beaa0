"""A frazione's news: a broadcast with zones reaches only who said they live there, through
every face of the service (the start, the estimate, the CLI, the API, the console)."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from banditore.broadcasts import audience, cost, lifecycle
from banditore.broadcasts.models import Broadcast, Delivery, ImmutableBroadcast
from banditore.subscribers import service
from banditore.subscribers.models import Zone


@pytest.fixture
def frazioni(comune):
    centro = Zone.objects.create(organization=comune, name="Centro", slug="centro", position=1)
    borgo = Zone.objects.create(organization=comune, name="Borgomeduna", slug="borgo", position=2)
    for phone, zone in [
        ("+393331120001", centro),
        ("+393331120002", borgo),
        ("+393331120003", None),
    ]:
        service.subscribe(comune, phone, source="operator", evidence={}, zone=zone)
    return {"centro": centro, "borgo": borgo}


def create(org, **content):
    return lifecycle.create(org, lifecycle.SYSTEM, text="Acqua sospesa in via Roma", **content)


def test_a_zone_narrows_the_audience_to_who_lives_there(comune, frazioni):
    broadcast = create(comune, zones=["centro"])
    assert list(broadcast.zones.all()) == [frazioni["centro"]]
    assert audience.start(broadcast) == 1
    assert list(Delivery.objects.values_list("recipient", flat=True)) == ["+393331120001"]


def test_no_zone_reaches_everyone_wherever_they_live(comune, frazioni):
    assert audience.start(create(comune)) == 3


def test_zones_and_topics_both_narrow(comune, frazioni):
    def live(phone, zone, topic):
        topics = list(comune.topics.filter(slug=topic))
        service.subscribe(comune, phone, source="operator", evidence={}, zone=zone, topics=topics)

    live("+393331120004", frazioni["centro"], "viabilita")
    live("+393331120005", frazioni["centro"], "eventi")
    live("+393331120006", frazioni["borgo"], "viabilita")
    broadcast = create(comune, zones=["centro"], topics=["viabilita"])
    assert audience.start(broadcast) == 2
    # +393331120001 chose no topic, so follows every one, and lives in the centre.
    reached = set(Delivery.objects.values_list("recipient", flat=True))
    assert reached == {"+393331120001", "+393331120004"}


def test_the_estimate_counts_what_the_start_queues(comune, frazioni):
    broadcast = create(comune, zones=["centro", "borgo"])
    estimated = cost.estimate(broadcast).recipients
    assert estimated == 2 == audience.start(broadcast)


def test_an_unknown_zone_is_refused_and_names_the_known_ones(comune, frazioni):
    with pytest.raises(lifecycle.Refused) as refused:
        create(comune, zones=["periferia"])
    assert refused.value.code == "unknown_zone"
    assert "centro" in refused.value.message and "borgo" in refused.value.message
    assert not Broadcast.objects.exists()


def test_another_comunes_zone_is_unknown(comune, frazioni):
    from tests.factories import make_comune

    other = make_comune(slug="trevi")
    with pytest.raises(lifecycle.Refused):
        create(other, zones=[frazioni["centro"].pk])


def test_zones_change_while_a_draft_and_freeze_once_started(comune, frazioni):
    broadcast = create(comune)
    lifecycle.update(broadcast, lifecycle.SYSTEM, zones=["borgo"])
    assert list(broadcast.zones.values_list("slug", flat=True)) == ["borgo"]
    audience.start(broadcast)
    with pytest.raises(ImmutableBroadcast), transaction.atomic():
        broadcast.zones.add(frazioni["centro"])
    with pytest.raises(lifecycle.Refused):
        lifecycle.update(broadcast, lifecycle.SYSTEM, zones=["centro"])
    assert list(broadcast.zones.values_list("slug", flat=True)) == ["borgo"]


def test_the_cli_takes_zones(comune, frazioni):
    out = io.StringIO()
    call_command(
        "broadcast", "create", "--text", "Festa in piazza", "--zone", "centro", "--zone", "borgo",
        stdout=out,
    )  # fmt: skip
    broadcast = Broadcast.objects.get()
    assert sorted(broadcast.zones.values_list("slug", flat=True)) == ["borgo", "centro"]


def test_the_api_takes_and_shows_zones(comune, frazioni):
    from banditore.api import keys
    from banditore.api.models import SCOPES
    from tests.api.conftest import Api

    api = Api(keys.issue(comune, "ufficio-stampa", SCOPES)[1])
    made = api.post("/api/broadcasts", {"text": "Strada chiusa", "zones": ["borgo"]})
    assert made.status_code == 201, made.content
    assert made.json()["zones"] == ["borgo"]
    wrong = api.post("/api/broadcasts", {"text": "Strada chiusa", "zones": ["marte"]})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unknown_zone"
    changed = api.patch(f"/api/broadcasts/{made.json()['id']}", {"zones": ["centro", "borgo"]})
    assert changed.json()["zones"] == ["borgo", "centro"]


def test_the_console_composes_for_a_zone_and_counts_its_audience(comune, frazioni):
    from tests.console.helpers import member

    editor, _ = member(comune, "redattrice", "redattore")
    page = editor.get("/console/messaggi/nuovo/").content.decode()
    assert "Borgomeduna" in page
    preview = editor.post(
        "/console/messaggi/anteprima/", {"text": "x", "zones": [frazioni["borgo"].pk]}
    )
    assert 'id="audience"' in preview.content.decode()
    assert preview.context["audience"] == 1
    editor.post(
        "/console/messaggi/nuovo/",
        {"text": "Via Roma chiusa", "priority": 3, "zones": [frazioni["centro"].pk]},
    )
    assert list(Broadcast.objects.get().zones.all()) == [frazioni["centro"]]
