"""One dispatcher per channel, across processes: leases and the reclaim of a dead one's work."""

from datetime import timedelta

from django.utils import timezone

from banditore.broadcasts.models import Delivery
from banditore.channels.models import Channel
from banditore.dispatch import queries
from tests.factories import channel_of


def test_only_one_dispatcher_holds_a_channel(comune):
    channel = channel_of(comune)
    assert queries.take_lease(channel.pk, "a", 15)
    assert not queries.take_lease(channel.pk, "b", 15)
    assert queries.take_lease(channel.pk, "a", 15)  # renewal


def test_an_expired_lease_is_taken_over(comune):
    channel = channel_of(comune)
    assert queries.take_lease(channel.pk, "a", 15)
    Channel.objects.filter(pk=channel.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert queries.take_lease(channel.pk, "b", 15)
    assert Channel.objects.get(pk=channel.pk).lease_owner == "b"


def test_a_paused_channel_is_never_leased(comune):
    channel = channel_of(comune)
    Channel.objects.filter(pk=channel.pk).update(status="paused")
    assert not queries.take_lease(channel.pk, "a", 15)


def test_a_released_lease_is_free_for_others(comune):
    channel = channel_of(comune)
    queries.take_lease(channel.pk, "a", 15)
    queries.release_lease(channel.pk, "a")
    assert queries.take_lease(channel.pk, "b", 15)


def test_the_new_owner_requeues_what_a_dead_dispatcher_had_claimed(comune):
    channel = channel_of(comune)
    for i in range(3):
        Delivery.objects.create(organization=comune, channel=channel, recipient=f"+39333000000{i}")
    claimed = queries.claim(channel.pk, "dead", priority=3, after_id=0, limit=2)
    assert len(claimed) == 2
    assert queries.reclaim_orphans(channel.pk) == 2
    assert Delivery.objects.filter(status="queued").count() == 3


def test_claims_go_in_priority_then_id_order_after_the_cursor(comune):
    channel = channel_of(comune)
    ids = [
        Delivery.objects.create(
            organization=comune, channel=channel, recipient="+393330000001", priority=p
        ).id
        for p in (3, 3, 0, 3)
    ]
    first = queries.claim(channel.pk, "w", priority=0, after_id=0, limit=10)
    assert [d.id for d in first] == [ids[2]]
    normal = queries.claim(channel.pk, "w", priority=3, after_id=ids[0], limit=10)
    assert [d.id for d in normal] == [ids[1], ids[3]]
    assert all(d.attempts == 1 for d in normal)


def test_deliveries_waiting_for_a_retry_are_not_claimed_early(comune):
    channel = channel_of(comune)
    Delivery.objects.create(
        organization=comune,
        channel=channel,
        recipient="+393330000001",
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    assert queries.claim(channel.pk, "w", priority=3, after_id=0, limit=10) == []
    assert queries.channels_with_work() == []
