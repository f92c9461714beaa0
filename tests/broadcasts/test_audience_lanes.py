"""An audience in several lanes (stripes of subscriber ids) is queued by several processes or
threads at once: each citizen exactly once, the size exact, completed exactly once, whoever
lands the last chunk and in whatever order."""

import threading

import pytest
from django.db import connection, transaction

from banditore.broadcasts import audience
from banditore.broadcasts.models import AudienceLane, Broadcast
from banditore.core import db
from banditore.core.models import AuditEvent
from tests.factories import channel_of, subscribe

LANES = 3


@pytest.fixture
def striped(monkeypatch):
    monkeypatch.setattr(audience, "LANES", {"postgresql": LANES, "sqlite": LANES})
    monkeypatch.setattr(audience, "CHUNK", 3)
    monkeypatch.setattr(audience, "SQLITE_CHUNK", 3)
    monkeypatch.setattr(audience, "FIRST_CHUNK", 2)
    monkeypatch.setattr(db, "SQLITE_GAP_SECONDS", 0)


def started_then_crashed(b: Broadcast, monkeypatch) -> int:
    # The sender dies right after its commit: what would queue the rest never runs.
    with monkeypatch.context() as m:
        m.setattr(audience, "continue_after_start", lambda broadcast_id: None)
        return audience.start(b)


def with_audience(org, n: int) -> Broadcast:
    for i in range(n):
        subscribe(org, f"+39333555{i:04d}")
    return Broadcast.objects.create(organization=org, channel=channel_of(org), text="Avviso")


def everyone_once(b: Broadcast, org) -> bool:
    ids = list(b.recipients.values_list("subscriber_id", flat=True))
    return len(ids) == len(set(ids)) and set(ids) == set(
        org.subscribers.values_list("pk", flat=True)
    )


def materialised_events(b: Broadcast) -> int:
    return AuditEvent.objects.filter(
        action="broadcast.materialised", target=f"broadcast:{b.pk}"
    ).count()


@pytest.mark.django_db(transaction=True)
def test_each_lane_gets_a_first_chunk_and_a_crash_after_start_loses_nobody(
    comune, striped, monkeypatch
):
    b = with_audience(comune, 20)
    assert started_then_crashed(b, monkeypatch) == 2 * LANES
    lanes = AudienceLane.objects.filter(broadcast=b)
    assert sorted(lanes.values_list("lane", "lanes", "complete")) == [
        (lane, LANES, False) for lane in range(LANES)
    ]
    # Each lane's first chunk: the two lowest ids of its stripe (id modulo the lane count).
    ids = sorted(comune.subscribers.values_list("pk", flat=True))
    expected = {pk for lane in range(LANES) for pk in [i for i in ids if i % LANES == lane][:2]}
    assert set(b.recipients.values_list("subscriber_id", flat=True)) == expected
    assert {lane.cursor % LANES for lane in lanes} == set(range(LANES))
    assert audience.resume_unfinished() == 1
    b.refresh_from_db()
    assert (b.audience_complete, b.audience_size) == (True, 20)
    assert everyone_once(b, comune)
    assert materialised_events(b) == 1
    assert not AudienceLane.objects.filter(broadcast=b).exists()


@pytest.mark.django_db(transaction=True)
def test_a_small_audience_lands_whole_in_the_callers_transaction(comune, striped):
    # One per lane, fewer than a first chunk: every lane knows it is complete at once (a
    # lane exactly as long as its chunk learns it only from the next, empty, chunk).
    b = with_audience(comune, LANES)
    assert audience.start(b) == LANES
    b.refresh_from_db()
    assert (b.audience_complete, b.audience_size) == (True, LANES)
    assert materialised_events(b) == 0  # broadcast.started says the size
    assert not AudienceLane.objects.filter(broadcast=b).exists()


@pytest.mark.django_db(transaction=True)
def test_a_cancel_completes_every_lane_and_queues_no_more(comune, striped, monkeypatch):
    from banditore.broadcasts import lifecycle

    b = with_audience(comune, 30)
    first = started_then_crashed(b, monkeypatch)
    lifecycle.cancel(b, lifecycle.SYSTEM)
    audience.resume_unfinished()
    b.refresh_from_db()
    assert (b.status, b.audience_complete, b.recipients.count()) == ("cancelled", True, first)
    assert not b.recipients.filter(status="queued").exists()


@pytest.mark.django_db(transaction=True)
def test_threads_fill_the_lanes_at_once_each_citizen_once(comune, striped):
    if connection.vendor != "postgresql":
        pytest.skip("one writer at a time on SQLite: the lanes run one after the other there")
    b = with_audience(comune, 60)
    with transaction.atomic():
        audience.start(b)  # its on-commit continuation runs the lanes in threads
    # Meanwhile (and after) a worker's resumer may take any lane the threads don't hold.
    audience.resume_unfinished()
    b.refresh_from_db()
    assert (b.audience_complete, b.audience_size) == (True, 60)
    assert everyone_once(b, comune)
    assert materialised_events(b) == 1


@pytest.mark.django_db(transaction=True)
def test_two_lanes_finishing_at_once_complete_the_audience_once(comune, monkeypatch):
    # Lane 0 lands its last chunk in a transaction that is not committed yet while lane 1
    # lands its own in another connection: the second must wait for the first and then see
    # both lanes complete (reading the lanes before taking the broadcast's row, neither
    # would see the other's, and the audience would never be called complete).
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL")
    monkeypatch.setattr(audience, "LANES", {"postgresql": 2})
    b = with_audience(comune, 8)
    Broadcast.objects.filter(pk=b.pk).update(status="sending", audience_complete=False)
    AudienceLane.objects.bulk_create(AudienceLane(broadcast=b, lane=n, lanes=2) for n in (0, 1))
    other_done = threading.Event()

    def lane_one():
        try:
            audience.materialise_chunk(b.pk, lane=1)
        finally:
            connection.close()
            other_done.set()

    with transaction.atomic():
        assert audience.materialise_chunk(b.pk, lane=0) is True  # lane 1 still waits
        assert AudienceLane.objects.get(broadcast=b, lane=0).complete  # not committed yet
        thread = threading.Thread(target=lane_one)
        thread.start()
        # Lane 1 inserts, then waits for the broadcast's row, which lane 0 holds until commit.
        assert not other_done.wait(1.5)
    thread.join(10)
    b.refresh_from_db()
    assert (b.audience_complete, b.audience_size) == (True, 8)
    assert everyone_once(b, comune)
    assert materialised_events(b) == 1


@pytest.mark.django_db(transaction=True)
def test_with_a_worker_alive_the_sender_leaves_the_rest_to_it(comune, striped):
    # A web request (or a scheduler tick) returns once the first chunks are in: a million
    # would otherwise hold it for seconds. The worker's resumer queues the rest.
    from banditore.ops import heartbeat

    b = with_audience(comune, 20)
    heartbeat.beat("worker-elsewhere")
    with transaction.atomic():  # its commit runs the continuation, which leaves it be
        first = audience.start(b)
    b.refresh_from_db()
    assert (b.audience_complete, b.recipients.count()) == (False, first)
    assert audience.resume_unfinished() == 1  # as the worker's loop calls it
    b.refresh_from_db()
    assert (b.audience_complete, b.audience_size) == (True, 20)
    assert everyone_once(b, comune)


@pytest.mark.django_db(transaction=True)
def test_a_stopping_worker_stops_between_chunks(comune, striped, monkeypatch):
    b = with_audience(comune, 40)
    first = started_then_crashed(b, monkeypatch)
    calls = []

    def stopping():
        calls.append(1)
        return len(calls) > 2  # two more chunks, then the stop

    audience.resume_unfinished(stopping)
    b.refresh_from_db()
    assert not b.audience_complete
    assert first < b.recipients.count() < 40
    audience.resume_unfinished()
    b.refresh_from_db()
    assert (b.audience_complete, b.audience_size) == (True, 40)


@pytest.mark.django_db(transaction=True)
def test_a_big_audience_refreshes_the_outbox_statistics(comune, striped, monkeypatch):
    # Planned from statistics that predate a million new rows, the check that closes a
    # finished broadcast read them all at every write-back (see audience.ANALYZE_AFTER).
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics")
    monkeypatch.setattr(audience, "ANALYZE_AFTER", 10)

    def analyzed() -> int:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT analyze_count FROM pg_stat_user_tables "
                "WHERE relname = 'broadcasts_delivery'"
            )
            return cur.fetchone()[0]

    before = analyzed()
    b = with_audience(comune, 20)
    with transaction.atomic():
        audience.start(b)
    b.refresh_from_db()
    assert b.audience_complete
    # The statistics collector reports with a delay of its own; ANALYZE's count is at once.
    assert analyzed() == before + 1
