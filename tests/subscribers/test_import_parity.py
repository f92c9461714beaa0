"""The bulk path for new numbers writes what service.subscribe writes, row for row."""

from django.forms.models import model_to_dict

from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent, Subscriber, Zone
from tests.factories import make_comune

SUBSCRIBER_SKIP = {"id", "organization", "created_at", "topics", "zone"}
EVENT_SKIP = {"id", "organization", "subscriber", "recorded_at"}


def as_dicts(org):
    subscriber = Subscriber.objects.get(organization=org)
    event = ConsentEvent.objects.get(organization=org)
    s = {k: v for k, v in model_to_dict(subscriber).items() if k not in SUBSCRIBER_SKIP}
    s["topics"] = sorted(subscriber.topics.values_list("slug", flat=True))
    s["zone"] = subscriber.zone.slug if subscriber.zone else None
    e = {k: v for k, v in model_to_dict(event).items() if k not in EVENT_SKIP}
    assert event.subscriber_id == subscriber.pk
    return s, e


def test_it_writes_the_same_rows_as_service_subscribe(comune, run, tmp_path):
    other = make_comune(slug="trevi")
    for org in (comune, other):
        Zone.objects.create(organization=org, name="Torre", slug="torre")
    path = tmp_path / "lista.csv"
    path.write_text(
        "numero;temi;data consenso;fonte;zona;nome\n"
        "333 111 0001;Viabilità, Eventi;01/03/2024 10:15;ISCRIVIMI;Torre;Maria Rossi\n",
        encoding="utf-8",
    )
    assert run("import", path, "--org", "pordenone").error == ""
    imported = ConsentEvent.objects.get(organization=comune)
    service.subscribe(
        other,
        "+393331110001",
        source=ConsentEvent.Source.IMPORT,
        evidence=imported.evidence,
        when=imported.occurred_at,
        topics=list(other.topics.filter(slug__in=["viabilita", "eventi"])),
        zone=other.zones.get(slug="torre"),
        name="Maria Rossi",
    )
    assert as_dicts(comune) == as_dicts(other)
    subscriber, event = as_dicts(comune)
    assert subscriber["topics"] == ["eventi", "viabilita"]
    assert subscriber["zone"] == "torre"
    assert event["topics"] == ["eventi", "viabilita"] and event["zone"] == "torre"


def test_a_pending_number_is_activated_through_the_service(comune, run, tmp_path):
    service.request_web_signup(
        comune,
        "+393331110001",
        topics=[],
        zone=None,
        name="",
        ip="192.0.2.1",
        user_agent="",
        evidence={"form": 1},
    )
    path = tmp_path / "lista.csv"
    path.write_text("numero;data\n3331110001;01/03/2024\n", encoding="utf-8")
    outcome = run("import", path)
    assert "Subscribers imported: 1" in outcome.out
    subscriber = Subscriber.objects.get(phone="+393331110001")
    assert subscriber.status == "active"
    actions = list(subscriber.consent_events.values_list("action", "source"))
    assert actions == [("subscribe", "import"), ("subscribe", "web")]  # 2024 before today
