"""Leaving is final: what was queued or held for a citizen who left is skipped, not failed."""

import pytest

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.dispatch import queries
from banditore.subscribers import privacy, service
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.factories import channel_of, make_comune, subscribe

CITIZEN = "+393331112222"
OTHER = "+393331113333"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def queue(channel, subscriber, *, kind="broadcast", status="queued", broadcast=None):
    return Delivery.objects.create(
        organization=channel.organization,
        channel=channel,
        broadcast=broadcast,
        subscriber=subscriber,
        recipient=subscriber.phone,
        kind=kind,
        status=status,
    )


def sending(channel) -> Broadcast:
    return Broadcast.objects.create(
        organization=channel.organization, channel=channel, text="News", status="sending"
    )


def states(*deliveries):
    for d in deliveries:
        d.refresh_from_db()
    return [(d.status, d.skip_reason) for d in deliveries]


def test_cancellami_skips_queued_and_held_news_and_notices_but_not_the_goodbye(channel, comune):
    citizen = subscribe(comune, CITIZEN)
    news = queue(channel, citizen, broadcast=sending(channel))
    paused = queue(channel, citizen, status="held", broadcast=sending(channel))
    notice = queue(channel, citizen, kind="notice")
    goodbye = queue(channel, citizen, kind="reply")
    sent = queue(channel, citizen, status="sent", broadcast=sending(channel))
    service.unsubscribe(comune, CITIZEN, source="whatsapp", evidence={})
    assert states(news, paused, notice) == [("skipped", "unsubscribed")] * 3
    assert states(goodbye, sent) == [("queued", ""), ("sent", "")]
    assert not Delivery.objects.filter(status="failed").exists()


def test_a_broadcast_whose_last_recipient_left_is_finished(channel, comune):
    broadcast = sending(channel)
    queue(channel, subscribe(comune, CITIZEN), broadcast=broadcast)
    queue(channel, subscribe(comune, OTHER), broadcast=broadcast, status="read")
    service.unsubscribe(comune, CITIZEN, source="whatsapp", evidence={})
    broadcast.refresh_from_db()
    assert broadcast.status == "sent" and broadcast.finished_at is not None


def test_a_provider_opt_out_is_an_unsubscribe(channel, comune):
    news = queue(channel, subscribe(comune, CITIZEN), broadcast=sending(channel))
    service.unsubscribe(comune, CITIZEN, source="provider", evidence={"error": 131050})
    assert Subscriber.objects.get(phone=CITIZEN).status == "unsubscribed"
    assert ConsentEvent.objects.filter(action="unsubscribe", source="provider").count() == 1
    assert states(news) == [("skipped", "unsubscribed")]


def test_unreachable_numbers_are_marked_with_their_proof(channel, comune):
    a, b = subscribe(comune, CITIZEN, topics=["eventi"]), subscribe(comune, OTHER)
    gone = subscribe(comune, "+393331114444")
    service.unsubscribe(comune, gone.phone, source="whatsapp", evidence={})
    elsewhere = subscribe(make_comune(slug="trevi"), "+393331115555")
    news = queue(channel, a, broadcast=sending(channel))
    held = queue(channel, b, status="held", broadcast=sending(channel))
    notice = queue(channel, a, kind="notice")
    reply = queue(channel, a, kind="reply")

    marked = service.mark_unreachable(
        comune, [a.pk, b.pk, gone.pk, elsewhere.pk], source="provider", evidence={"error": 131026}
    )

    assert marked == 2
    statuses = dict(Subscriber.objects.values_list("phone", "status"))
    assert statuses == {
        CITIZEN: "unreachable",
        OTHER: "unreachable",
        gone.phone: "unsubscribed",
        elsewhere.phone: "active",
    }
    events = ConsentEvent.objects.filter(action="unreachable").order_by("phone")
    assert [(e.phone, e.source, e.evidence, e.topics) for e in events] == [
        (CITIZEN, "provider", {"error": 131026}, ["eventi"]),
        (OTHER, "provider", {"error": 131026}, sorted(t.slug for t in comune.topics.all())),
    ]
    assert states(news, held, notice) == [("skipped", "unreachable")] * 3
    assert states(reply) == [("queued", "")]
    # Again: nobody is active any more, so nothing more is written.
    assert service.mark_unreachable(comune, [a.pk], source="provider", evidence={}) == 0
    assert ConsentEvent.objects.filter(action="unreachable").count() == 2


def test_erasure_skips_everything_still_waiting(channel, comune):
    citizen = subscribe(comune, CITIZEN)
    news = queue(channel, citizen, broadcast=sending(channel))
    reply = queue(channel, citizen, kind="reply")
    assert privacy.erase(comune, CITIZEN, actor_label="ufficio")
    assert states(news, reply) == [("skipped", "erased")] * 2
    assert Delivery.objects.filter(recipient=CITIZEN).count() == 0


def test_a_row_that_lands_after_the_erasure_is_skipped_and_loses_the_number(channel, comune):
    # The outbox keeps no foreign key to the subscriber (Delivery.subscriber): an audience
    # chunk that read the citizen just before the erasure committed lands a row naming a
    # subscriber that is gone. The claim must not send it, and the number must not stay.
    citizen = subscribe(comune, CITIZEN)
    broadcast = sending(channel)
    gone = citizen.pk
    assert privacy.erase(comune, CITIZEN, actor_label="ufficio")
    late = Delivery.objects.create(
        organization=comune, channel=channel, broadcast=broadcast, subscriber_id=gone,
        recipient=CITIZEN,
    )  # fmt: skip
    epoch = queries.acquire_lease(channel.pk, "w", 15)
    claim = queries.claim(channel.pk, "w", epoch, late.priority, 0, 10)
    assert claim.rows == []
    late.refresh_from_db()
    assert (late.status, late.skip_reason, late.recipient) == ("skipped", "erased", "")
