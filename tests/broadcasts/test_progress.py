"""A broadcast's live progress: counts, failures by error, skips by reason, the rate now, the
ETA, and what WhatsApp's messaging limit holds back until when; in the CLI and the API."""

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from banditore.broadcasts import audience, progress, window
from banditore.broadcasts.models import Broadcast, Delivery
from tests.api.conftest import api, api_for  # noqa: F401 - fixtures
from tests.factories import subscribe

NUMBERS = [f"+39333800{i:04d}" for i in range(10)]


@pytest.fixture
def started(comune):
    for number in NUMBERS:
        subscribe(comune, number)
    b = Broadcast.objects.create(
        organization=comune, channel=comune.channels.get(), text="Mercato spostato"
    )
    audience.start(b)
    b.refresh_from_db()
    return b


def seed(b: Broadcast, now, **rows) -> None:
    """rows: recipient index -> fields, applied to that recipient's delivery."""
    for index, fields in rows.items():
        Delivery.objects.filter(broadcast=b, recipient=NUMBERS[int(index[1:])]).update(**fields)


def midway(b: Broadcast, now) -> None:
    """Ten citizens: four sent lately, one a while ago, two failed alike, one left, one held
    by the messaging limit for three hours, one still to go."""
    Broadcast.objects.filter(pk=b.pk).update(started_at=now - timedelta(minutes=10))
    b.refresh_from_db()
    seed(
        b,
        now,
        r0={"status": "sent", "sent_at": now - timedelta(seconds=10)},
        r1={"status": "sent", "sent_at": now - timedelta(seconds=10)},
        r2={"status": "sent", "sent_at": now - timedelta(seconds=10)},
        r3={"status": "delivered", "sent_at": now - timedelta(seconds=5)},
        r4={"status": "read", "sent_at": now - timedelta(minutes=2)},
        r5={"status": "failed", "error_code": 131026, "error_title": "Message undeliverable"},
        r6={"status": "failed", "error_code": 131026, "error_title": "Message undeliverable"},
        r7={"status": "skipped", "skip_reason": "unsubscribed"},
        r8={
            "error_code": window.WAITING_FOR_TIER,
            "error_title": window.WAITING_TITLE,
            "next_attempt_at": now + timedelta(hours=3),
        },
    )


def test_counts_failures_skips_rate_and_eta(started):
    now = timezone.now()
    midway(started, now)
    p = progress.progress(started, now)
    assert p.counts == {
        "queued": 2, "sending": 0, "sent": 3, "delivered": 1, "read": 1, "failed": 2,
        "skipped": 1, "held": 0,
    }  # fmt: skip
    assert [f.as_dict() for f in p.failed] == [
        {"code": 131026, "title": "Message undeliverable", "count": 2}
    ]
    assert p.skipped == {"unsubscribed": 1}
    # Four accepted in the last 30 seconds (the one of two minutes ago is not "now").
    assert p.rate == pytest.approx(4 / 30)
    assert p.remaining == 2 and p.ready == 1
    # The one that can go, at the pace the provider lately allowed (below the cap of 80).
    assert p.eta_seconds == pytest.approx(7.5)
    assert p.eta == now + timedelta(seconds=7.5)
    assert (p.tier_waiting, p.tier_until, p.retrying) == (1, now + timedelta(hours=3), 0)


def test_without_recent_sends_the_eta_is_at_the_channels_cap(started):
    now = timezone.now()
    p = progress.progress(started, now)
    assert (p.rate, p.cap, p.remaining) == (0, 80, 10)
    assert p.eta_seconds == pytest.approx(10 / 80)


def test_the_rate_of_a_broadcast_started_moments_ago_is_over_its_own_time(started):
    now = timezone.now()
    Broadcast.objects.filter(pk=started.pk).update(started_at=now - timedelta(seconds=4))
    started.refresh_from_db()
    seed(started, now, r0={"status": "sent", "sent_at": now - timedelta(seconds=1)},
         r1={"status": "sent", "sent_at": now - timedelta(seconds=2)})  # fmt: skip
    assert progress.progress(started, now).rate == pytest.approx(2 / 4)


def test_a_retry_waits_but_is_not_the_limit(started):
    now = timezone.now()
    seed(started, now, r0={"error_code": 131000, "next_attempt_at": now + timedelta(minutes=1)})
    p = progress.progress(started, now)
    assert (p.retrying, p.tier_waiting, p.tier_until) == (1, 0, None)


def test_a_paused_broadcast_has_no_eta(started):
    Broadcast.objects.filter(pk=started.pk).update(status="paused")
    Delivery.objects.filter(broadcast=started).update(status="held")
    started.refresh_from_db()
    p = progress.progress(started)
    assert (p.remaining, p.eta) == (10, None)


def test_the_description_says_why_it_waits_and_until_when_in_italian(started):
    now = timezone.now()
    midway(started, now)
    lines = progress.describe(progress.progress(started, now), "Europe/Rome")
    at = (now + timedelta(hours=3)).astimezone(ZoneInfo("Europe/Rome"))
    day = (
        "%H:%M" if at.date() == now.astimezone(ZoneInfo("Europe/Rome")).date() else "%d/%m/%Y %H:%M"
    )
    assert f"In attesa del limite di messaggi di WhatsApp fino alle {at.strftime(day)}: " \
        "1 destinatario" in lines  # fmt: skip
    assert "Non riusciti, per errore:" in lines
    assert "  (131026) Message undeliverable: 2" in lines
    assert "Saltati, per motivo:" in lines
    assert f"  {Delivery.SkipReason.UNSUBSCRIBED.label}: 1" in lines
    assert any(line.startswith("Velocità di invio: 0,1 msg/s") for line in lines), lines
    assert any(line.startswith("Ancora da inviare: 1; fine prevista alle") for line in lines)


def test_the_cli_status_shows_the_progress(started):
    midway(started, timezone.now())
    out = io.StringIO()
    call_command("broadcast", "status", str(started.pk), stdout=out)
    text = out.getvalue()
    assert "In attesa del limite di messaggi di WhatsApp fino alle" in text
    assert "(131026) Message undeliverable: 2" in text
    assert "Velocità di invio" in text


def test_the_api_status_adds_the_progress_to_the_counts(started, api):  # noqa: F811
    now = timezone.now()
    midway(started, now)
    body = api.get(f"/api/broadcasts/{started.pk}/status").json()
    assert body["counts"]["failed"] == 2 and body["audience_size"] == 10
    assert body["failed_by_error"] == [
        {"code": 131026, "title": "Message undeliverable", "count": 2}
    ]
    assert body["skipped_by_reason"] == {"unsubscribed": 1}
    assert (body["remaining"], body["tier_waiting"], body["cap_per_second"]) == (2, 1, 80)
    assert body["tier_until"] is not None and body["eta"] is not None
    assert 0 < body["rate_per_second"] <= 4 / 30 + 0.01
    assert any("limite di messaggi" in line for line in body["summary"])
