"""A real-world list goes in: exactly the good rows, with their topics and consent times,
each ConsentEvent pointing back to its batch, file and line."""

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from banditore.core.models import AuditEvent
from banditore.subscribers import privacy, service
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import subscribe

ROME = ZoneInfo("Europe/Rome")
EVERY_TOPIC = {"protezione-civile", "viabilita", "eventi", "farmacie", "servizi"}
# number → (topics, consent time in Rome, consent source as written, line in messy.csv)
EXPECTED = {
    "+393339135528": ({"viabilita", "eventi"}, (2024, 3, 1, 0, 0), "ISCRIVIMI via WhatsApp", 2),
    "+393316511331": ({"viabilita", "eventi"}, (2024, 3, 1, 0, 0), "", 3),
    "+393331234567": ({"viabilita"}, (2024, 3, 1, 0, 0), "lista broadcast 1", 4),
    "+393205550101": (
        {"protezione-civile", "farmacie"},
        (2024, 3, 1, 10, 15),
        "foglio firme URP",
        6,
    ),
    "+393405550102": (EVERY_TOPIC, (2023, 4, 15, 0, 0), "", 7),
    "+393475550103": (EVERY_TOPIC, (2023, 12, 31, 18, 30), "ISCRIVIMI", 8),
    "+393395550109": ({"servizi"}, (2024, 6, 5, 0, 0), "ISCRIVIMI", 16),
}
ACTIVE_BEFORE = "+393355550106"
UNSUBSCRIBED_BEFORE = "+393365550107"
ERASED_BEFORE = "+393375550111"


@pytest.fixture
def known(comune):
    """The comune already has three of the list's numbers: one in, two that left."""
    subscribe(comune, ACTIVE_BEFORE)
    subscribe(comune, UNSUBSCRIBED_BEFORE)
    service.unsubscribe(comune, UNSUBSCRIBED_BEFORE, source="whatsapp", evidence={})
    subscribe(comune, ERASED_BEFORE)
    privacy.erase(comune, ERASED_BEFORE, actor_label="cli")
    return comune


@pytest.fixture
def imported(known, run, data):
    outcome = run("import", data / "messy.csv", "--skip-invalid")
    assert outcome.error == ""
    return outcome


def test_it_imports_exactly_the_valid_rows(imported, comune):
    active = set(
        Subscriber.objects.filter(organization=comune, status="active").values_list(
            "phone", flat=True
        )
    )
    assert active == set(EXPECTED) | {ACTIVE_BEFORE}
    gone = Subscriber.objects.get(phone=UNSUBSCRIBED_BEFORE)
    assert gone.status == "unsubscribed"
    assert not Subscriber.objects.filter(phone=ERASED_BEFORE).exists()
    assert "Subscribers imported: 7" in imported.out


def test_it_gives_each_number_its_topics_and_consent_time(imported, comune):
    for phone, (topics, when, _source, _line) in EXPECTED.items():
        s = Subscriber.objects.get(organization=comune, phone=phone)
        assert set(s.topics.values_list("slug", flat=True)) == topics, phone
        assert s.subscribed_at == datetime(*when, tzinfo=ROME), phone
        assert s.confirmed_at == s.approved_at == s.subscribed_at


def test_its_consent_events_carry_batch_file_hash_and_line(imported, comune, data):
    sha = hashlib.sha256((data / "messy.csv").read_bytes()).hexdigest()
    events = ConsentEvent.objects.filter(organization=comune, source="import")
    assert events.count() == len(EXPECTED)
    batches = {e.evidence["import_batch"] for e in events}
    assert len(batches) == 1
    for e in events:
        topics, when, source, line = EXPECTED[e.phone]
        assert e.action == "subscribe"
        assert e.occurred_at == datetime(*when, tzinfo=ROME)
        assert e.evidence["file_sha256"] == sha
        assert e.evidence["file"] == "messy.csv"
        assert e.evidence["line"] == line
        assert e.evidence["consent_source"] == source
        assert e.topics == sorted(topics)
        assert e.notice_version == comune.privacy_notice_version
    audit = AuditEvent.objects.get(organization=comune, action="subscribers.imported")
    assert audit.data["batch"] in batches
    assert audit.data["sha256"] == sha
    assert audit.data["imported"] == 7
    assert audit.actor_label == "cli"


def test_it_reports_every_problem_with_its_line(imported):
    report = imported.out
    expected = [
        "Line 9 (skipped): +393339135528 is also on line 2",
        "Line 10 (error): not a valid phone number: 12345",
        "Line 11 (error): no consent date",
        "Line 12 (error): unknown topic: Sport",
        "Line 13 (skipped): +393355550106 is already subscribed",
        "Line 14 (skipped): +393365550107 left the service on",
        "Line 15 (error): consent date not understood: 31/02/2024",
        "Line 17 (skipped): +393375550111 left the service on",
    ]
    for text in expected:
        assert text in report
    problem_lines = [line for line in report.splitlines() if line.startswith("Line ")]
    assert len(problem_lines) == len(expected)
    assert "encoding utf-8-sig, delimiter ;" in report
    assert "Ignored columns: Note" in report
    assert (
        "Rows: 15; to import: 7; already subscribed: 1; left earlier: 2; duplicates: 1; "
        "not active in the file: 0; invalid: 4." in report
    )


def test_it_reads_the_cp1252_comma_variant(comune, run, data):
    outcome = run("import", data / "messy_cp1252.csv")
    assert outcome.error == ""
    assert "encoding cp1252, delimiter ," in outcome.out
    got = {
        s.phone: (set(s.topics.values_list("slug", flat=True)), s.subscribed_at)
        for s in Subscriber.objects.filter(organization=comune)
    }
    assert got == {
        "+393339135528": ({"viabilita", "eventi"}, datetime(2024, 3, 1, 9, 30, tzinfo=ROME)),
        "+393405550102": ({"protezione-civile"}, datetime(2024, 3, 1, tzinfo=ROME)),
        "+393475550103": ({"farmacie", "eventi"}, datetime(2023, 12, 31, tzinfo=ROME)),
    }
    sources = {e.evidence["consent_source"] for e in ConsentEvent.objects.all()}
    assert "Broadcast «Notizie» già attiva" in sources
    assert "Modulo cartaceo n° 12" in sources
