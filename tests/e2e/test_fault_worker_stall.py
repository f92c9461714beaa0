"""A stalled lease owner that wakes up (issue 7, points 1 and 11): fencing, at 200 msg/s.

The worker holding the channel is stopped (SIGSTOP) past its lease, a second worker takes
the channel over, then the first resumes (SIGCONT). The resumed worker must send nothing
more and change no row the new owner holds: no second copy beyond what was in flight at the
stop, no 130429 (two senders at once would exceed the sandbox's cap), and every delivery
keeps the wamid of the last copy its citizen got.

PostgreSQL only: it is the database for several worker machines, where a stall (a paused VM,
a long GC, swap) happens to one of them; on SQLite a process stopped inside a write
transaction holds the only write lock and stalls every other writer, a different fault."""

import os
import signal
import time

import pytest
from django.db import connection

from tests import processes
from tests.faults import (
    Arrivals,
    add_subscribers,
    assert_copies,
    assert_wamids_match,
    close_db,
    lease_owner,
    send,
    sent_in_flight,
    statuses,
    throttled_rows,
    wait_drained,
    wait_sending_started,
    wired_sandbox,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]


def test_a_stalled_owner_that_resumes_sends_nothing_more(comune):
    if connection.vendor != "postgresql":
        pytest.skip("several worker machines share a channel on PostgreSQL only")
    numbers = add_subscribers(comune, 2000)
    channel = comune.channels.get()
    text = "Allerta rossa: chiusura ponti sul Noncello"
    with wired_sandbox(comune, mps=200) as sandbox:
        close_db()
        with (
            processes.worker("--worker-id", "stallA1") as a,
            processes.worker("--worker-id", "stallB2") as b,
            Arrivals(sandbox),
        ):
            broadcast = send(text, "emergency")
            workers = {"stallA1": a, "stallB2": b}
            first_id, first = processes.wait_for(
                lambda: next(
                    ((w, p) for w, p in workers.items() if w in lease_owner(channel)), None
                ),
                20,
                "a worker to lease the channel",
            )
            wait_sending_started(sandbox, 300)
            os.kill(first.pid, signal.SIGSTOP)
            try:
                stopped_at = time.monotonic()
                may_repeat = sent_in_flight(broadcast, sandbox, text)
                assert statuses(broadcast)["queued"] > 0, "the broadcast ended before the stall"
                processes.wait_for(
                    lambda: (owner := lease_owner(channel)) and first_id not in owner,
                    30,
                    "the second worker to take the lease",
                )
                taken_after = time.monotonic() - stopped_at
                # Let the new owner send for a while (and reap the stalled owner's rows)...
                wait_sending_started(sandbox, sandbox.accepted() + 200, timeout=20)
            finally:
                os.kill(first.pid, signal.SIGCONT)  # ...then the old one wakes up.
            wait_drained(broadcast, timeout=60)
            time.sleep(2)  # whatever the resumed worker still does, it does now
            assert first.poll() is None or first.returncode == 0
        copies = sandbox.copies(text)
        throttled = sandbox.throttled()
        assert_copies(copies, numbers, may_repeat)
        assert throttled == 0, f"the sandbox answered 130429 {throttled} times"
        assert throttled_rows(broadcast) == 0
        assert_wamids_match(broadcast, sandbox, text)
    assert taken_after < 10, f"takeover took {taken_after:.1f} s"
