"""The subscriber list as a CSV Excel opens as it is, and the importer reads back."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from banditore.subscribers import service
from banditore.subscribers.models import Subscriber, Zone
from tests.factories import make_comune, subscribe

ROME = ZoneInfo("Europe/Rome")
HEADER = "numero;stato;temi;zona;nome;iscritto_dal;cancellato_il"


def setup_list(org):
    torre = Zone.objects.create(organization=org, name="Torre", slug="torre")
    when = datetime(2024, 3, 1, 10, 15, tzinfo=ROME)
    service.subscribe(
        org,
        "+393331110001",
        source="operator",
        evidence={},
        when=when,
        topics=list(org.topics.filter(slug__in=["viabilita", "eventi"])),
        zone=torre,
        name="Maria Rossi",
    )
    service.subscribe(
        org, "+393331110002", source="operator", evidence={}, when=when, name="=HYPERLINK(1)"
    )
    subscribe(org, "+393331110003")
    service.unsubscribe(org, "+393331110003", source="whatsapp", evidence={})


def test_it_writes_utf8_bom_semicolons_and_italian_headers(comune, run):
    setup_list(comune)
    out = run("export").out
    assert out.startswith("\ufeff" + HEADER + "\r\n")
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff")), delimiter=";"))
    assert rows[1] == [
        "+393331110001",
        "active",
        "Viabilità|Eventi",
        "Torre",
        "Maria Rossi",
        "2024-03-01 10:15:00",
        "",
    ]
    assert rows[2][4] == "'=HYPERLINK(1)"  # a citizen's name never runs as a formula
    assert len(rows) == 3  # active only, by default


def test_it_filters_by_status(comune, run):
    setup_list(comune)
    gone = run("export", "--status", "unsubscribed").out.splitlines()
    assert len(gone) == 2 and gone[1].startswith("+393331110003;unsubscribed;")
    assert gone[1].split(";")[-1] != ""
    assert len(run("export", "--status", "all").out.splitlines()) == 4
    assert run("export", "--status", "pending").out.splitlines() == ["\ufeff" + HEADER]
    assert "invalid choice" in run("export", "--status", "tutti").error


def test_it_writes_to_a_file(comune, run, tmp_path):
    setup_list(comune)
    path = tmp_path / "iscritti.csv"
    outcome = run("export", "--output", path)
    assert "Subscribers written to" in outcome.out
    assert path.read_bytes().startswith(b"\xef\xbb\xbf" + HEADER.encode())


def test_it_round_trips_into_another_comune(comune, run, tmp_path):
    setup_list(comune)
    other = make_comune(slug="trevi")
    Zone.objects.create(organization=other, name="Torre", slug="torre")
    path = tmp_path / "iscritti.csv"
    run("export", "--org", "pordenone", "--status", "all", "--output", path)
    outcome = run("import", path, "--org", "trevi")
    assert outcome.error == ""
    assert "Line 4 (skipped): +393331110003 has status unsubscribed" in outcome.out

    def snapshot(org):
        return {
            s.phone: (
                sorted(s.topics.values_list("slug", flat=True)),
                s.zone.slug if s.zone else None,
                s.name,
                s.subscribed_at.replace(second=0, microsecond=0),
            )
            for s in Subscriber.objects.filter(organization=org, status="active")
        }

    assert snapshot(other) == snapshot(comune)
    assert len(snapshot(other)) == 2
