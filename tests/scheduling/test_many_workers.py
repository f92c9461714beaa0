"""Workers ticking at the same moment, each on its own database connection, start a due
broadcast once and run a digest slot once (PostgreSQL: real row locks between sessions)."""

import threading

import pytest
from django.db import connection

from banditore.broadcasts import scheduling
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import AuditEvent
from tests.factories import make_comune, subscribe
from tests.scheduling.helpers import draft, rome, scheduled

WORKERS = 6

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent sessions need PostgreSQL"
)


def tick_together(now) -> list[dict]:
    barrier = threading.Barrier(WORKERS)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(scheduling.tick(now))
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(results) == WORKERS
    return results


@pytest.mark.django_db(transaction=True)
def test_a_due_broadcast_starts_once_across_workers():
    org = make_comune()
    for n in range(20):
        subscribe(org, f"+3933311100{n:02d}")
    b = scheduled(org, rome(2026, 5, 7, 10, 0))
    results = tick_together(rome(2026, 5, 7, 10, 0, 1))
    assert sorted(pk for r in results for pk in r["started"]) == [b.pk]
    assert Delivery.objects.filter(broadcast=b).count() == 20
    assert AuditEvent.objects.filter(action="broadcast.started").count() == 1
    # The losers never reached the lifecycle (which would have refused them, and said so).
    assert not AuditEvent.objects.filter(action="broadcast.start_refused").exists()


@pytest.mark.django_db(transaction=True)
def test_a_slot_runs_once_across_workers():
    org = make_comune()
    subscribe(org, "+393331110001")
    slot = scheduling.create_slot(org, "Giovedì", 3, rome(2026, 5, 7, 10, 0).time(),
                                  now=rome(2026, 5, 6, 12, 0))  # fmt: skip
    scheduling.add_to_slot(slot, draft(org, "Mercato"))
    results = tick_together(rome(2026, 5, 7, 10, 0, 1))
    assert len([pk for r in results for pk in r["digests"]]) == 1
    assert len([pk for r in results for pk in r["started"]]) == 1
    assert Broadcast.objects.filter(status="sending").count() == 1
    assert Delivery.objects.count() == 1
