"""A number's consent history, in time order, also after the number is erased."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from banditore.subscribers import privacy, service
from banditore.subscribers.models import ConsentEvent

ROME = ZoneInfo("Europe/Rome")
PHONE = "+393331110001"
# Three days in the recent past, at fixed local times.
DAY = timezone.localdate() - timedelta(days=5)
SIGNED, CONFIRMED, LEFT = (
    datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=ROME) + timedelta(days=n, hours=n)
    for n in range(3)
)


def shown(when):
    return when.strftime("%d/%m/%Y %H:%M:%S")


def life(org):
    service.request_web_signup(
        org,
        PHONE,
        topics=list(org.topics.filter(slug="eventi")),
        zone=None,
        name="",
        ip="192.0.2.7",
        user_agent="Firefox",
        evidence={"form": "abc"},
    )
    service.confirm_number(
        org,
        PHONE,
        evidence={"wamid": "wamid.X", "text": "ISCRIVIMI"},
        when=CONFIRMED,
    )
    service.unsubscribe(
        org,
        PHONE,
        source="whatsapp",
        evidence={"text": "STOP"},
        when=LEFT,
    )
    # Written out of order: the history still reads by when it happened.
    ConsentEvent.objects.filter(action="subscribe").update(occurred_at=SIGNED)


def test_it_shows_every_event_in_time_order(comune, run):
    life(comune)
    out = run("history", "333 111 0001").out
    lines = out.splitlines()
    assert lines[0].startswith(f"{PHONE} — Comune di Pordenone: unsubscribed")
    assert "(Europe/Rome)" in lines[1]
    events = lines[2:]
    assert len(events) == 3
    assert events[0].startswith(f"  {shown(SIGNED)} · subscribe · web form · notice v1")
    assert "topics: eventi" in events[0] and "IP 192.0.2.7" in events[0]
    assert "form=abc" in events[0]
    assert events[1].startswith(f"  {shown(CONFIRMED)} · confirm · WhatsApp")
    assert "text=ISCRIVIMI" in events[1]
    assert events[2].startswith(f"  {shown(LEFT)} · unsubscribe · WhatsApp")


def test_it_still_shows_the_proof_after_erasure(comune, run):
    life(comune)
    privacy.erase(comune, PHONE, actor_label="cli")
    out = run("history", "+39 333 111 0001").out
    assert "erased on" in out.splitlines()[0]
    events = out.splitlines()[2:]
    assert [e.split(" · ")[1] for e in events] == ["subscribe", "confirm", "unsubscribe", "erase"]
    assert "redacted=true" in events[0] and "192.0.2.7" not in out
    assert "by=cli" in events[3]


def test_it_shows_an_imported_number_with_its_batch(comune, run, tmp_path):
    path = tmp_path / "lista.csv"
    path.write_text("numero;data;fonte\n3331110001;01/03/2024;ISCRIVIMI\n", encoding="utf-8")
    run("import", path)
    out = run("history", PHONE).out
    batch = ConsentEvent.objects.get().evidence["import_batch"]
    assert f"import_batch={batch}" in out
    assert "line=2" in out and "consent_source=ISCRIVIMI" in out


def test_it_says_when_there_is_no_history(comune, run):
    assert "No consent history for +393331110009" in run("history", "3331110009").error
    assert "Not a valid phone number: 12" in run("history", "12").error
