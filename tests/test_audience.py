"""Starting a broadcast materialises exactly its audience, once."""

import pytest

from banditore.broadcasts import audience
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.subscribers import service
from tests.factories import channel_of, subscribe


def new_broadcast(org, topics=(), priority=3):
    b = Broadcast.objects.create(
        organization=org, channel=channel_of(org), text="Mercato spostato", priority=priority
    )
    b.topics.set(org.topics.filter(slug__in=topics))
    return b


def test_it_targets_every_active_subscriber_and_nobody_else(comune):
    subscribe(comune, "+393331110001")
    subscribe(comune, "+393331110002")
    gone = subscribe(comune, "+393331110003")
    service.unsubscribe(comune, gone.phone, source="operator", evidence={})
    b = new_broadcast(comune)
    assert audience.start(b) == 2
    recipients = set(Delivery.objects.filter(broadcast=b).values_list("recipient", flat=True))
    assert recipients == {"+393331110001", "+393331110002"}
    b.refresh_from_db()
    assert (b.status, b.audience_size) == ("sending", 2)


def test_topics_narrow_the_audience(comune):
    subscribe(comune, "+393331110001", topics=["viabilita"])
    subscribe(comune, "+393331110002", topics=["eventi"])
    subscribe(comune, "+393331110003", topics=["viabilita", "eventi"])
    b = new_broadcast(comune, topics=["viabilita"])
    assert audience.start(b) == 2
    assert not Delivery.objects.filter(recipient="+393331110002").exists()


def test_it_never_reaches_another_comunes_subscribers(comune):
    from tests.factories import make_comune

    other = make_comune(slug="trevi")
    subscribe(other, "+393331110009")
    subscribe(comune, "+393331110001")
    assert audience.start(new_broadcast(comune)) == 1


def test_a_broadcast_starts_once(comune):
    subscribe(comune, "+393331110001")
    b = new_broadcast(comune)
    audience.start(b)
    with pytest.raises(audience.NotStartable):
        audience.start(b)
    assert Delivery.objects.count() == 1


def test_deliveries_carry_the_broadcast_priority(comune):
    subscribe(comune, "+393331110001")
    b = new_broadcast(comune, priority=0)
    audience.start(b)
    assert Delivery.objects.get().priority == 0


def test_an_empty_audience_is_sent_at_once(comune):
    b = new_broadcast(comune)
    assert audience.start(b) == 0
    b.refresh_from_db()
    assert b.status == "sent"


def test_a_broadcast_whose_last_recipient_leaves_is_finished(comune):
    subscribe(comune, "+393331110001")
    b = new_broadcast(comune)
    audience.start(b)
    service.unsubscribe(comune, "+393331110001", source="whatsapp", evidence={})
    b.refresh_from_db()
    assert b.status == "sent"
