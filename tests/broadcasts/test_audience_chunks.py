"""A big audience is queued in chunks: sendable as they land, resumable after a crash, never
a duplicate or a lost delivery, and never called finished before the last chunk landed."""

import pytest

from banditore.broadcasts import audience, lifecycle
from banditore.broadcasts.models import AudienceLane, Broadcast, Delivery
from banditore.core import db
from banditore.core.models import AuditEvent
from banditore.dispatch import queries
from tests.factories import channel_of, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(audience, "CHUNK", 2)
    monkeypatch.setattr(audience, "SQLITE_CHUNK", 2)
    monkeypatch.setattr(audience, "FIRST_CHUNK", 2)
    monkeypatch.setattr(db, "SQLITE_GAP_SECONDS", 0)
    # One lane, so chunks are predictable (test_audience_lanes.py tests several).
    monkeypatch.setattr(audience, "LANES", {})


def with_audience(org, n: int) -> Broadcast:
    for i in range(n):
        subscribe(org, f"+39333222{i:04d}")
    return Broadcast.objects.create(organization=org, channel=channel_of(org), text="Avviso")


def started_then_crashed(b: Broadcast, capture) -> int:
    # The process dies right after the caller's commit: the callback that would queue the
    # remaining chunks never runs.
    with capture(execute=False) as callbacks:
        size = audience.start(b)
    assert len(callbacks) == 1
    return size


def queued_subscribers(b: Broadcast) -> list[int]:
    return list(b.recipients.values_list("subscriber_id", flat=True))


def send_everything_queued(b: Broadcast) -> None:
    b.recipients.filter(status="queued").update(status="sent")
    queries.finish_broadcasts({b.pk}, b.started_at)


def test_after_start_the_first_chunk_is_sendable_and_the_rest_follows_on_commit(
    comune, small_chunks, django_capture_on_commit_callbacks
):
    b = with_audience(comune, 5)
    with django_capture_on_commit_callbacks(execute=False):
        assert audience.start(b) == 2
        b.refresh_from_db()
        assert (b.status, b.audience_complete, b.recipients.count()) == ("sending", False, 2)
    audience.materialise(b.pk)
    b.refresh_from_db()
    assert (b.audience_complete, b.audience_size) == (True, 5)
    assert sorted(queued_subscribers(b)) == sorted(comune.subscribers.values_list("pk", flat=True))
    started = AuditEvent.objects.get(action="broadcast.started", target=f"broadcast:{b.pk}")
    assert (started.data["audience"], started.data["complete"]) == (2, False)
    done = AuditEvent.objects.get(action="broadcast.materialised", target=f"broadcast:{b.pk}")
    assert done.data["audience"] == 5


def test_the_on_commit_continuation_queues_everyone(
    comune, small_chunks, django_capture_on_commit_callbacks
):
    b = with_audience(comune, 5)
    with django_capture_on_commit_callbacks(execute=True):
        audience.start(b)
    b.refresh_from_db()
    assert (b.audience_complete, b.audience_size, b.recipients.count()) == (True, 5, 5)


def test_a_crash_between_chunks_resumes_from_the_cursor_without_duplicates(
    comune, small_chunks, django_capture_on_commit_callbacks
):
    b = with_audience(comune, 7)
    started_then_crashed(b, django_capture_on_commit_callbacks)
    assert audience.materialise_chunk(b.pk) is True  # one more chunk, then the crash
    assert b.recipients.count() == 4
    # Even a cursor that went back (a chunk repeated) queues nobody twice.
    AudienceLane.objects.filter(broadcast=b).update(cursor=0)
    assert audience.resume_unfinished() == 1
    b.refresh_from_db()
    ids = queued_subscribers(b)
    assert len(ids) == len(set(ids)) == 7
    assert (b.audience_complete, b.audience_size, b.status) == (True, 7, "sending")
    assert audience.resume_unfinished() == 0


def test_the_dispatcher_never_finishes_a_broadcast_before_its_last_chunk(
    comune, small_chunks, django_capture_on_commit_callbacks
):
    b = with_audience(comune, 5)
    started_then_crashed(b, django_capture_on_commit_callbacks)
    send_everything_queued(b)  # the first chunk went out before the second landed
    b.refresh_from_db()
    assert (b.status, b.finished_at) == ("sending", None)
    assert audience.materialise_chunk(b.pk) is True
    send_everything_queued(b)
    b.refresh_from_db()
    assert b.status == "sending"
    assert audience.materialise_chunk(b.pk) is False  # the last chunk: one subscriber
    b.refresh_from_db()
    assert (b.status, b.recipients.filter(status="queued").count()) == ("sending", 1)
    send_everything_queued(b)
    b.refresh_from_db()
    assert b.status == "sent" and b.finished_at is not None


def test_an_empty_last_chunk_finishes_a_broadcast_whose_rows_all_went(
    comune, small_chunks, django_capture_on_commit_callbacks
):
    # 4 subscribers in chunks of 2: the third chunk is empty and no send will follow it.
    b = with_audience(comune, 4)
    started_then_crashed(b, django_capture_on_commit_callbacks)
    assert audience.materialise_chunk(b.pk) is True
    send_everything_queued(b)
    b.refresh_from_db()
    assert b.status == "sending"
    assert audience.materialise_chunk(b.pk) is False
    b.refresh_from_db()
    assert (b.status, b.audience_size, b.audience_complete) == ("sent", 4, True)


def test_a_cancel_mid_materialisation_stops_the_chunks(
    comune, small_chunks, django_capture_on_commit_callbacks
):
    b = with_audience(comune, 6)
    started_then_crashed(b, django_capture_on_commit_callbacks)
    lifecycle.cancel(b, lifecycle.SYSTEM)
    audience.resume_unfinished()
    b.refresh_from_db()
    assert (b.status, b.audience_complete) == ("cancelled", True)
    assert b.recipients.count() == 2
    assert not b.recipients.filter(status="queued").exists()


def test_a_paused_broadcast_keeps_materialising_and_its_new_rows_wait(
    comune, small_chunks, django_capture_on_commit_callbacks
):
    b = with_audience(comune, 5)
    started_then_crashed(b, django_capture_on_commit_callbacks)
    lifecycle.pause(b, lifecycle.SYSTEM)
    audience.resume_unfinished()
    b.refresh_from_db()
    assert (b.status, b.audience_complete, b.recipients.count()) == ("paused", True, 5)
    assert b.status == "paused"
    assert not Delivery.objects.filter(broadcast=b, status="sent").exists()


def test_an_audience_of_nobody_is_sent_at_once(comune):
    b = Broadcast.objects.create(organization=comune, channel=channel_of(comune), text="Avviso")
    comune.subscribers.all().delete()
    assert audience.start(b) == 0
    b.refresh_from_db()
    assert (b.status, b.audience_complete) == ("sent", True)
    assert b.finished_at is not None
