"""One-to-one messages: a reply inside the 24-hour window, or a notice outside it.

Both are Delivery rows like any broadcast's, so the dispatcher sends them, paces them and
records their receipts the same way.
"""

from banditore.broadcasts.models import Delivery, Priority
from banditore.channels.models import Channel
from banditore.subscribers import contacts
from banditore.subscribers.models import Subscriber


def reply(channel: Channel, address: str, text: str, subscriber: Subscriber | None) -> Delivery:
    """Free text to a citizen who just wrote to us, at their address on that channel."""
    return Delivery.objects.create(
        organization_id=channel.organization_id,
        channel=channel,
        subscriber=subscriber,
        kind=Delivery.Kind.REPLY,
        recipient=address,
        text=text,
        # The conversation lane: the citizen is looking at the chat right now.
        priority=Priority.CONVERSATION,
    )


def notice(subscriber: Subscriber, text: str) -> Delivery | None:
    """A message to one subscriber who may not have written for days: on WhatsApp as the
    template, to their number; without one, to their other contact."""
    who = contacts.first_address(subscriber)
    channel = (
        Channel.objects.filter(organization_id=subscriber.organization_id, kind=who.kind)
        .order_by("id")
        .first()
    )
    if channel is None or not who.value:
        return None
    return Delivery.objects.create(
        organization_id=subscriber.organization_id,
        channel=channel,
        subscriber=subscriber,
        kind=Delivery.Kind.NOTICE,
        recipient=who.value,
        text=text,
        priority=Priority.CONVERSATION,
    )
