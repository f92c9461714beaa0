"""CANCELLAMI while the citizen's delivery is being retried (issue 7, points 3 and 11).

The provider answers 503 to every send for a few seconds, so the broadcast's deliveries sit
in retry; meanwhile one citizen writes CANCELLAMI. When the provider is back that citizen
gets only the goodbye, never the broadcast, and the delivery ends `skipped` because they
left (not `failed`); everyone else gets the broadcast once.
Runs on SQLite and again on PostgreSQL (make test)."""

import pytest

from banditore.subscribers.models import Subscriber
from tests import processes
from tests.faults import (
    DONE,
    GOODBYE,
    add_subscribers,
    assert_copies,
    close_db,
    send,
    statuses,
    wait_drained,
    wired_sandbox,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_an_opt_out_during_retries_is_final(comune):
    numbers = add_subscribers(comune, 10)
    leaver, others = numbers[0], numbers[1:]
    text = "Raccolta differenziata: cambio calendario"
    with wired_sandbox(comune, mps=20) as sandbox:
        close_db()
        sandbox.fault(kind="http", status=503, probability=1, path_contains="/messages")
        with processes.worker() as worker:
            broadcast = send(text)
            delivery = broadcast.deliveries.get(recipient=leaver)

            def in_retry():
                delivery.refresh_from_db()
                return delivery.attempts >= 1 and delivery.status in ("queued", "sending")

            processes.wait_for(in_retry, 20, "the leaver's delivery to be in retry")
            sandbox.write(leaver, "CANCELLAMI")
            processes.wait_for(
                lambda: Subscriber.objects.get(phone=leaver).status == "unsubscribed",
                15,
                "the opt-out to be applied",
            )
            sandbox.clear_faults()
            wait_drained(broadcast, timeout=60)
            sandbox.wait_for_message(leaver, GOODBYE, timeout=30)
            assert worker.poll() is None
        copies = sandbox.copies(text)
    assert copies[leaver] == 0, "the citizen who left got the broadcast"
    assert_copies(copies, others, may_repeat=set(), most=1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.skip_reason) == ("skipped", "unsubscribed")
    counts = statuses(broadcast)
    assert counts["skipped"] == 1 and sum(counts[s] for s in DONE) == 9, dict(counts)
