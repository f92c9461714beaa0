"""Pause, resume and cancel from the CLI while a real worker drains a broadcast into a real
sandbox: a pause stops the sends (what was in flight finishes), resume delivers the rest
once each, a cancel drops what was still queued."""

import io
import time

import pytest
from django.core.management import call_command

from banditore.broadcasts.models import Broadcast
from tests import processes
from tests.factories import make_comune
from tests.faults import (
    add_subscribers,
    close_db,
    wait_drained,
    wait_sending_started,
    wired_sandbox,
)

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "Mercato spostato in piazza Cavour"


def run(*args) -> Broadcast:
    call_command("broadcast", *args, stdout=io.StringIO())
    return Broadcast.objects.latest("id")


def settled(broadcast: Broadcast, sandbox) -> int:
    """Wait for the rows in flight to be written back; then the sandbox must stay quiet."""
    processes.wait_for(
        lambda: not broadcast.deliveries.filter(status="sending").exists(), 15, "in-flight rows"
    )
    accepted = sandbox.accepted()
    time.sleep(2)  # a dozen claim cycles: long enough for a stray claim to show
    assert sandbox.accepted() == accepted
    return accepted


def test_pause_stops_the_drain_and_resume_finishes_it_once_each():
    comune = make_comune()
    numbers = add_subscribers(comune, 200)
    with wired_sandbox(comune, mps=20) as sandbox:
        close_db()
        with processes.worker():
            b = run("send", "--text", TEXT)
            wait_sending_started(sandbox, 20)
            run("pause", str(b.pk))
            sent_before = settled(b, sandbox)
            assert sent_before < 200
            assert b.deliveries.filter(status="held").count() == 200 - sent_before
            run("resume", str(b.pk))
            wait_drained(b, 60)
            copies = sandbox.copies(TEXT)
    assert sorted(copies) == sorted(numbers) and set(copies.values()) == {1}
    b.refresh_from_db()
    assert (b.paused_by_label, b.started_by_label) == ("cli", "cli")


def test_cancel_mid_send_drops_what_is_still_queued():
    comune = make_comune()
    add_subscribers(comune, 200)
    with wired_sandbox(comune, mps=20) as sandbox:
        close_db()
        with processes.worker():
            b = run("send", "--text", TEXT)
            wait_sending_started(sandbox, 20)
            run("cancel", str(b.pk))
            sent = settled(b, sandbox)
            copies = sandbox.copies(TEXT)
    assert set(copies.values()) == {1} and len(copies) == sent < 200
    assert b.deliveries.filter(status="skipped", skip_reason="cancelled").count() == 200 - sent
    assert Broadcast.objects.get(pk=b.pk).status == "cancelled"


def test_a_template_recategorised_mid_send_pauses_it_until_the_office_resumes():
    """Meta moves the template from UTILITY to MARKETING while it drains: the webhook reaches
    the receiver, the worker applies it, the broadcast pauses with the reason, nothing more
    goes out; the office resumes and every citizen gets it once, the rest at the new price."""
    from banditore.channels import template_sync
    from tests.e2e.conftest import http_json

    comune = make_comune()
    numbers = add_subscribers(comune, 200)
    with wired_sandbox(comune, mps=20) as sandbox:
        template_sync.sync(comune.channels.get())
        close_db()
        with processes.worker():
            b = run("send", "--text", TEXT)
            wait_sending_started(sandbox, 20)
            http_json(
                "POST",
                f"{sandbox.url}/_sandbox/templates/category",
                {"name": "banditore_notizia", "language": "it", "category": "MARKETING"},
            )
            processes.wait_for(
                lambda: Broadcast.objects.get(pk=b.pk).status == "paused", 15, "the pause"
            )
            sent_before = settled(b, sandbox)
            b.refresh_from_db()
            assert "MARKETING" in b.paused_reason and b.paused_by_label == "system"
            assert sent_before < 200
            assert b.deliveries.filter(status="held").count() == 200 - sent_before
            run("resume", str(b.pk))
            wait_drained(b, 60)
            copies = sandbox.copies(TEXT)
            categories = [
                m.get("category") for m in sandbox.messages() if TEXT in (m.get("text") or "")
            ]
    assert sorted(copies) == sorted(numbers) and set(copies.values()) == {1}
    # Sent before the change at the old price, after it at the new one.
    assert categories[0].lower() == "utility" and categories[-1].lower() == "marketing"
