"""Per-recipient outcomes, and the failed ones queued again as a group."""

import pytest
from django.utils import timezone

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Refused
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import AuditEvent
from tests.broadcasts.conftest import EDITOR, in_state


@pytest.fixture
def finished(comune, audience):
    """Sent: one read, one failed after three attempts."""
    b = in_state(comune, "sending")
    first = b.deliveries.get(recipient="+393331110001")
    second = b.deliveries.get(recipient="+393331110002")
    now = timezone.now()
    Delivery.objects.filter(pk=first.pk).update(status="read", sent_at=now, read_at=now)
    Delivery.objects.filter(pk=second.pk).update(
        status="failed", attempts=3, error_code=131026, error_title="Message undeliverable",
        failed_at=now,
    )  # fmt: skip
    Broadcast.objects.filter(pk=b.pk).update(status="sent", finished_at=now)
    b.refresh_from_db()
    return b


def test_one_outcome_per_recipient(finished):
    queued = list(finished.recipients.order_by("id").values_list("recipient", flat=True))
    rows = sorted(lifecycle.outcomes(finished), key=lambda r: r["phone"])
    assert [r["phone"] for r in lifecycle.outcomes(finished)] == queued  # in the order queued
    assert [r["phone"] for r in rows] == ["+393331110001", "+393331110002"]
    assert set(rows[0]) == {
        "phone", "status", "error_code", "error_title", "skip_reason", "sent_at",
        "delivered_at", "read_at",
    }  # fmt: skip
    assert (rows[0]["status"], rows[0]["read_at"] is not None) == ("read", True)
    assert (rows[1]["status"], rows[1]["error_code"]) == ("failed", 131026)


def test_test_sends_are_not_outcomes(finished):
    lifecycle.test_send(finished, EDITOR, ["3339110009"])
    assert len(list(lifecycle.outcomes(finished))) == 2


def test_retry_queues_the_failed_again_and_the_broadcast_sends_again(finished):
    assert lifecycle.retry_failed(finished, EDITOR) == 1
    failed = Delivery.objects.get(recipient="+393331110002")
    assert (failed.status, failed.attempts, failed.error_code, failed.failed_at) == (
        "queued", 3, None, None
    )  # fmt: skip
    assert Delivery.objects.get(recipient="+393331110001").status == "read"
    b = Broadcast.objects.get(pk=finished.pk)
    assert (b.status, b.finished_at) == ("sending", None)
    assert AuditEvent.objects.get(action="broadcast.retried").data == {"queued": 1}


def test_nothing_to_retry_leaves_a_sent_broadcast_sent(finished):
    Delivery.objects.filter(status="failed").update(status="delivered")
    assert lifecycle.retry_failed(finished, EDITOR) == 0
    assert Broadcast.objects.get(pk=finished.pk).status == "sent"


def test_a_paused_broadcast_is_not_retried(comune, audience):
    b = in_state(comune, "paused")
    b.deliveries.update(status="failed")
    with pytest.raises(Refused):
        lifecycle.retry_failed(b, EDITOR)
    assert not b.deliveries.exclude(status="failed").exists()


def test_the_paid_messages_are_recorded_on_the_broadcast(finished):
    assert finished.billable_count is None
    lifecycle.record_billable(finished)
    # One accepted outside any window (the read one); the failed one costs nothing.
    assert Broadcast.objects.get(pk=finished.pk).billable_count == 1
