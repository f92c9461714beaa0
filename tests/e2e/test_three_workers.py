"""Scale-out, tried: three real `banditore worker` processes on one PostgreSQL database
(as on three machines) start a scheduled broadcast once and run a digest slot once, and
every citizen gets each exactly once."""

import contextlib
import datetime as dt
import socket
import time

import pytest
from django.db import connection
from django.utils import timezone

from banditore.broadcasts import scheduling
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import AuditEvent
from banditore.ops.models import WorkerHeartbeat
from tests import processes
from tests.e2e.conftest import Phone
from tests.factories import make_comune, subscribe
from tests.scheduling.helpers import draft, scheduled

WORKERS = 3
CITIZENS = [f"+39333222000{n}" for n in range(6)]
NEWS = "Mercato spostato in piazza Duomo."
DIGEST_PARTS = ("Chiusa via Roma per lavori.", "Farmacia di turno: San Marco.")

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="workers on several machines share PostgreSQL; SQLite is one machine's database",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_three_workers_start_a_broadcast_and_a_digest_once():
    with processes.sandbox() as sandbox_url:
        org = make_comune(base_url=sandbox_url)
        # No quiet hours: the test must not depend on the hour it runs at.
        org.send_window_start = org.send_window_end = dt.time(0, 0)
        org.save()
        for number in CITIZENS:
            subscribe(org, number)
        now = timezone.now()
        news = scheduled(org, now + dt.timedelta(seconds=3), text=NEWS)
        slot = scheduling.create_slot(org, "Giovedì", now.weekday(), dt.time(0, 0))
        for text in DIGEST_PARTS:
            scheduling.add_to_slot(slot, draft(org, text, status=Broadcast.Status.APPROVED))
        # Due a moment after the broadcast, so both fall to workers already ticking.
        last_due = now + dt.timedelta(seconds=4)
        slot.next_run_at = last_due
        slot.save(update_fields=["next_run_at"])

        phones = [Phone(sandbox_url, number) for number in CITIZENS]
        sent = Delivery.objects.filter(status__in=["sent", "delivered", "read"])
        with contextlib.ExitStack() as stack:
            workers = [stack.enter_context(processes.worker()) for _ in range(WORKERS)]
            processes.wait_for(
                lambda: sent.count() == 2 * len(CITIZENS), timeout=40, what="both sent to all"
            )
            # Two more ticks of every worker: a duplicate start would show up by now.
            time.sleep(5)
            assert all(w.poll() is None for w in workers), "a worker died"
            # Every one of them ticked after both were due: each could have started them.
            ticked = WorkerHeartbeat.objects.filter(beat_at__gt=last_due)
            hosts = {f"{socket.gethostname()}:{w.pid}" for w in workers}
            assert hosts <= set(ticked.values_list("worker", flat=True))

        for phone in phones:
            texts = [m.get("text") or "" for m in phone.received()]
            # Each arrives wrapped in the comune's header and opt-out footer.
            assert sum(NEWS in t for t in texts) == 1, (phone.number, texts)
            assert sum(all(part in t for part in DIGEST_PARTS) for t in texts) == 1, texts

        news.refresh_from_db()
        assert news.started_at is not None
        [digest] = Broadcast.objects.filter(title__startswith="Giovedì")
        assert digest.started_at is not None
        assert Delivery.objects.filter(broadcast=news).count() == len(CITIZENS)
        assert Delivery.objects.filter(broadcast=digest).count() == len(CITIZENS)
        started = AuditEvent.objects.filter(action="broadcast.started")
        assert sorted(started.values_list("target", flat=True)) == sorted(
            [f"broadcast:{news.pk}", f"broadcast:{digest.pk}"]
        )
        assert not AuditEvent.objects.filter(action="broadcast.start_refused").exists()
