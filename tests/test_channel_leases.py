"""One dispatcher per channel, across processes: leases, fencing, the reaper, final opt-outs."""

from datetime import timedelta

from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.models import Channel
from banditore.dispatch import queries
from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent
from tests.factories import channel_of, make_comune, subscribe

NORMAL = 3


def expire(channel):
    Channel.objects.filter(pk=channel.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def queue(org, n=3, priority=NORMAL, broadcast=None):
    channel = channel_of(org)
    rows = []
    for i in range(n):
        subscriber = subscribe(org, f"+39333000{len(rows) + 100 * priority + i:04d}")
        rows.append(
            Delivery.objects.create(
                organization=org,
                channel=channel,
                subscriber=subscriber,
                broadcast=broadcast,
                recipient=subscriber.phone,
                priority=priority,
            )
        )
    return rows


def claim(channel, owner, epoch, priority=NORMAL, after=0, limit=10):
    return queries.claim(channel.pk, owner, epoch, priority, after, limit)


def test_only_one_dispatcher_holds_a_channel_and_each_acquisition_has_a_new_epoch(comune):
    channel = channel_of(comune)
    first = queries.acquire_lease(channel.pk, "a", 15)
    assert first is not None
    assert queries.acquire_lease(channel.pk, "b", 15) is None
    assert queries.renew_leases("a", 15) == {channel.pk: first}
    expire(channel)
    second = queries.acquire_lease(channel.pk, "b", 15)
    assert second == first + 1
    assert Channel.objects.get(pk=channel.pk).lease_owner == "b"


def test_a_lapsed_lease_is_not_renewed(comune):
    channel = channel_of(comune)
    queries.acquire_lease(channel.pk, "a", 15)
    expire(channel)
    assert queries.renew_leases("a", 15) == {}


def test_a_paused_channel_is_never_leased_nor_renewed(comune):
    channel = channel_of(comune)
    queries.acquire_lease(channel.pk, "a", 15)
    Channel.objects.filter(pk=channel.pk).update(status="paused")
    assert queries.renew_leases("a", 15) == {}
    assert queries.acquire_lease(channel.pk, "b", 15) is None


def test_a_released_lease_is_free_for_others(comune):
    channel = channel_of(comune)
    epoch = queries.acquire_lease(channel.pk, "a", 15)
    queries.release_lease(channel.pk, "a", epoch)
    assert queries.acquire_lease(channel.pk, "b", 15) == epoch + 1


def test_an_old_owner_can_neither_claim_nor_write_back_over_the_new_one(comune):
    channel = channel_of(comune)
    rows = queue(comune, 4)
    old = queries.acquire_lease(channel.pk, "old", 15)
    mine = claim(channel, "old", old, limit=2).rows
    assert len(mine) == 2
    expire(channel)
    new = queries.acquire_lease(channel.pk, "new", 15)
    assert queries.reap() == 2  # the old owner's in-flight rows go back to the queue
    # The stalled owner wakes up: its claim finds the lease gone.
    assert claim(channel, "old", old).rows == []
    theirs = claim(channel, "new", new).rows
    assert {d.id for d in theirs} == {r.id for r in rows}
    # The old owner's late write-backs touch none of the new owner's rows.
    now = timezone.now()
    queries.write_outcomes([["wamid.OLD", now, "", d.id, old] for d in mine], [], [])
    queries.unclaim([d.id for d in theirs], old)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sending"}
    assert not Delivery.objects.filter(wamid="wamid.OLD").exists()
    assert set(Delivery.objects.values_list("fence", flat=True)) == {new}


def test_a_late_write_back_of_a_reaped_row_nobody_claimed_again_still_lands(comune):
    """The message did go out: record it rather than send it twice."""
    channel = channel_of(comune)
    (row,) = queue(comune, 1)
    epoch = queries.acquire_lease(channel.pk, "a", 15)
    claim(channel, "a", epoch)
    expire(channel)
    assert queries.reap() == 1
    queries.write_outcomes([["wamid.LATE", timezone.now(), "", row.id, epoch]], [], [])
    row.refresh_from_db()
    assert (row.status, row.wamid, row.attempts) == ("sent", "wamid.LATE", 1)


def test_a_reap_is_not_an_attempt_and_a_live_lease_is_not_reaped(comune):
    channel = channel_of(comune)
    queue(comune, 2)
    epoch = queries.acquire_lease(channel.pk, "a", 15)
    claimed = claim(channel, "a", epoch).rows
    assert queries.reap() == 0
    expire(channel)
    assert queries.reap() == 2
    assert all(d.attempts == 0 for d in claimed)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {0}


def test_claims_go_in_lane_order_after_the_cursor(comune):
    channel = channel_of(comune)
    normal = queue(comune, 3)
    (emergency,) = queue(comune, 1, priority=0)
    epoch = queries.acquire_lease(channel.pk, "w", 15)
    assert [d.id for d in claim(channel, "w", epoch, priority=0).rows] == [emergency.id]
    later = claim(channel, "w", epoch, after=normal[0].id)
    assert [d.id for d in later.rows] == [normal[1].id, normal[2].id]
    assert later.exhausted


def test_nothing_goes_to_a_citizen_who_left_and_the_row_says_why(comune):
    channel = channel_of(comune)
    staying, leaving = queue(comune, 2)
    # Left while the delivery was being retried: the row is queued again, not yet claimed.
    Delivery.objects.filter(pk=leaving.pk).update(status="sending")
    service.unsubscribe(comune, leaving.recipient, source=ConsentEvent.Source.WHATSAPP, evidence={})
    Delivery.objects.filter(pk=leaving.pk).update(status="queued")
    epoch = queries.acquire_lease(channel.pk, "w", 15)
    assert [d.id for d in claim(channel, "w", epoch).rows] == [staying.id]
    leaving.refresh_from_db()
    assert (leaving.status, leaving.skip_reason) == ("skipped", "unsubscribed")


def test_a_goodbye_reply_goes_to_whoever_wrote(comune):
    channel = channel_of(comune)
    reply = Delivery.objects.create(
        organization=comune, channel=channel, kind="reply", recipient="+393330000999", priority=1
    )
    epoch = queries.acquire_lease(channel.pk, "w", 15)
    assert [d.id for d in claim(channel, "w", epoch, priority=1).rows] == [reply.id]


def test_a_cancelled_broadcast_is_skipped_and_a_paused_one_held(comune):
    channel = channel_of(comune)
    cancelled = Broadcast.objects.create(
        organization=comune, channel=channel, text="x", status="cancelled"
    )
    paused = Broadcast.objects.create(
        organization=comune, channel=channel, text="y", status="paused"
    )
    (c,) = queue(comune, 1, broadcast=cancelled)
    (p,) = queue(comune, 1, broadcast=paused)
    epoch = queries.acquire_lease(channel.pk, "w", 15)
    assert claim(channel, "w", epoch).rows == []
    c.refresh_from_db()
    p.refresh_from_db()
    assert (c.status, c.skip_reason) == ("skipped", "cancelled")
    assert p.status == "held"
    assert queries.channels_with_work() == []


def test_deliveries_waiting_for_a_retry_are_not_claimed_early(comune):
    channel = channel_of(comune)
    (row,) = queue(comune, 1)
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    epoch = queries.acquire_lease(channel.pk, "w", 15)
    assert claim(channel, "w", epoch).rows == []
    assert queries.channels_with_work() == []


def test_taking_a_lease_reaps_that_channel_only(comune):
    other = make_comune("sacile")
    channels = [channel_of(comune), channel_of(other)]
    for org in (comune, other):
        queue(org, 2)
    epochs = [queries.acquire_lease(c.pk, "old", 15) for c in channels]
    for channel, epoch in zip(channels, epochs, strict=True):
        claim(channel, "old", epoch)
        expire(channel)
    assert queries.reap(channels[0].pk) == 2
    assert queries.reap(channels[0].pk) == 0
    assert queries.reap() == 2  # the other channel's, left for the periodic reap
