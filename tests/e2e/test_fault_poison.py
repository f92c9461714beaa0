"""A poison message while a broadcast drains (issue 7, points 7 and 11).

A citizen sends 5,000-character messages built to make a backtracking regular expression run
for ever ("+a+a+a…", "+ a -+ a -…"): they once froze webhook processing (and on SQLite the
whole installation). Meanwhile other citizens' ISCRIVIMI still get their welcome within
seconds, and the broadcast completes. Runs on SQLite and again on PostgreSQL (make test)."""

import time

import pytest

from banditore.subscribers.models import Subscriber
from tests import processes
from tests.faults import (
    WELCOME,
    add_subscribers,
    assert_copies,
    close_db,
    send,
    wait_drained,
    wired_sandbox,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

# ~5,000 characters each; the first three take 4^n steps on a regex whose lazy item and its
# separator both match spaces ("+a   " * 24 + "+", 121 characters, never finishes).
POISON = [
    "+a   " * 999 + "+",
    "+ a  " * 999 + "-",
    "+a " * 1666 + "+",
    "+ a -" * 1000,
    "+a" * 2500,
]
REPLY_SECONDS = 10


def test_a_poison_message_holds_up_nobody(comune):
    numbers = add_subscribers(comune, 200)
    text = "Avviso: lavori sulla rete idrica"
    newcomers = [f"+39347{i:07d}" for i in range(3)]
    with wired_sandbox(comune, mps=20) as sandbox:
        close_db()
        with processes.worker() as worker:
            broadcast = send(text)
            poisoner = numbers[-1]
            for message in POISON:
                sandbox.write(poisoner, message)
            time.sleep(0.5)
            for number in newcomers:
                sandbox.write(number, "ISCRIVIMI")
            written = time.monotonic()
            for number in newcomers:
                left = REPLY_SECONDS - (time.monotonic() - written)
                sandbox.wait_for_message(number, WELCOME, timeout=max(left, 0.1))
            wait_drained(broadcast, timeout=30)
            assert worker.poll() is None
        copies = sandbox.copies(text)
    assert_copies(copies, numbers, may_repeat=set(), most=1)
    assert Subscriber.objects.filter(phone__in=newcomers, status="active").count() == 3
