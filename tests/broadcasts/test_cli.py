"""`banditore broadcast …`: the same lifecycle calls as the API, as the IT office or as an
operator (--as)."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from banditore.broadcasts import lifecycle
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import AuditEvent
from tests.broadcasts.conftest import user


def run(*args) -> str:
    out = io.StringIO()
    call_command("broadcast", *args, stdout=out)
    return out.getvalue()


def test_four_eyes_from_create_to_export(four_eyes, audience):
    user("mario")
    user("lucia")
    out = run("create", "--text", "Mercato in piazza", "--topic", "eventi", "--as", "mario")
    b = Broadcast.objects.get()
    assert str(b.pk) in out and b.created_by_label == "mario"
    assert list(b.topics.values_list("slug", flat=True)) == ["eventi"]
    run("submit", str(b.pk), "--as", "mario")
    with pytest.raises(CommandError):
        run("approve", str(b.pk), "--as", "mario")  # the author
    run("approve", str(b.pk), "--as", "lucia")
    run("schedule", str(b.pk), "--at", "2099-03-29 10:00")
    b.refresh_from_db()
    assert b.status == "scheduled"
    assert b.scheduled_at.isoformat() == "2099-03-29T08:00:00+00:00"  # 10:00 summer time, Rome
    b.topics.clear()  # not started yet: still its own to change
    run("send", str(b.pk))
    run("pause", str(b.pk), "--as", "lucia")
    run("resume", str(b.pk))
    b.refresh_from_db()
    assert (b.status, b.started_by_label, b.paused_by_label) == ("sending", "cli", "lucia")
    first = b.deliveries.get(recipient="+393331110001")
    Delivery.objects.filter(pk=first.pk).update(
        status="failed", error_code=131026, error_title="=HYPERLINK()"
    )

    csv_text = run("export", str(b.pk))
    assert csv_text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["numero", "stato", "codice_errore"]
    # In the order queued: on PostgreSQL the audience's stripes interleave subscriber ids.
    by_number = {r[0]: r for r in rows[1:]}
    assert sorted(by_number) == ["+393331110001", "+393331110002"] and len(rows) == 3
    assert by_number["+393331110001"][:4] == ["+393331110001", "failed", "131026", "'=HYPERLINK()"]
    status = run("status", str(b.pk))
    assert "mario" in status and "lucia" in status

    run("cancel", str(b.pk), "--as", "lucia")
    b.refresh_from_db()
    assert (b.status, b.cancelled_by_label) == ("cancelled", "lucia")
    labels = AuditEvent.objects.filter(target=f"broadcast:{b.pk}").values_list(
        "action", "actor_label"
    )
    assert ("broadcast.approved", "lucia") in labels and ("broadcast.started", "cli") in labels


def test_send_text_sends_at_once_without_four_eyes(comune, audience):
    out = run("send", "--text", "Giovedì mercato")
    b = Broadcast.objects.get()
    assert (b.status, b.audience_size, b.approved_by_label) == ("sending", 2, "cli")
    assert f"{b.pk}" in out and "2" in out


def test_send_text_waits_for_approval_with_four_eyes(four_eyes, audience):
    out = run("send", "--text", "Giovedì mercato")
    b = Broadcast.objects.get()
    assert b.status == "submitted" and not b.deliveries.exists()
    assert f"approve {b.pk}" in out


def test_the_cli_may_send_an_emergency_alone(four_eyes, audience):
    out = run("send", "--text", "Allerta", "--priority", "emergency")
    b = Broadcast.objects.get()
    assert (b.status, b.review_required, b.started_by_label) == ("sending", True, "cli")
    assert str(b.pk) in out
    # Not so for an urgent one: it waits for a second person.
    run("send", "--text", "Strada chiusa", "--priority", "urgent")
    assert Broadcast.objects.get(priority=2).status == "submitted"


def test_an_operator_may_send_an_emergency_alone_only_with_the_permission(four_eyes, audience):
    user("impiegato")
    run("send", "--text", "Allerta", "--priority", "emergency", "--as", "impiegato")
    assert Broadcast.objects.get().status == "submitted"


def test_an_operator_without_the_permission_cant(four_eyes, audience):
    user("impiegato")
    b = lifecycle.create(four_eyes, lifecycle.Actor("cli"), text="Allerta", priority=0)
    with pytest.raises(CommandError):
        run("send", str(b.pk), "--as", "impiegato")
    user("protezione", "send_emergency_alone")
    run("send", str(b.pk), "--as", "protezione")
    b.refresh_from_db()
    assert (b.status, b.started_by_label) == ("sending", "protezione")


def test_refusals_are_errors_with_the_message(comune, audience):
    run("send", "--text", "Mercato")
    b = Broadcast.objects.get()
    with pytest.raises(CommandError, match=str(b.pk)):
        run("resume", str(b.pk))
    with pytest.raises(CommandError):
        run("send", "--text", "")
    with pytest.raises(CommandError):
        run("status", "999")
    with pytest.raises(CommandError):
        run("submit", str(b.pk), "--as", "nobody")


def test_test_send_from_the_cli(comune):
    out = run("create", "--text", "Mercato")
    b = Broadcast.objects.get()
    assert str(b.pk) in out
    run("test", str(b.pk), "333 911 0001", "3339110002")
    assert Delivery.objects.filter(kind="notice").count() == 2
    with pytest.raises(CommandError):
        run("test", str(b.pk), "12")


def test_create_submit_and_status_show_the_estimate_before_sending(comune, audience):
    out = run("create", "--text", "Mercato")
    assert "€" in out
    b = Broadcast.objects.get()
    assert "€" in run("status", str(b.pk))
    assert "€" in run("submit", str(b.pk))


def test_review_from_the_cli(four_eyes, audience):
    user("sindaco")
    run("send", "--text", "Allerta", "--priority", "emergency")
    b = Broadcast.objects.get()
    with pytest.raises(CommandError):
        run("review", str(b.pk))  # the CLI sent it
    run("review", str(b.pk), "--as", "sindaco")
    b.refresh_from_db()
    assert b.reviewed_by_label == "sindaco"


def test_withdraw_from_the_cli(four_eyes):
    run("send", "--text", "Mercato")
    b = Broadcast.objects.get()
    run("withdraw", str(b.pk))
    b.refresh_from_db()
    assert b.status == "draft"
