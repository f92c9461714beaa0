"""One-to-one messages: a reply inside the 24-hour window, or a notice outside it.

Both are Delivery rows like any broadcast's, so the dispatcher sends them, paces them and
records their receipts the same way.
"""

from banditore.broadcasts.models import Delivery, Priority
from banditore.channels.models import Channel
from banditore.subscribers.models import Subscriber


def reply(channel: Channel, phone: str, text: str, subscriber: Subscriber | None) -> Delivery:
    """Free text to a citizen who just wrote to us."""
    return Delivery.objects.create(
        organization_id=channel.organization_id,
        channel=channel,
        subscriber=subscriber,
        kind=Delivery.Kind.REPLY,
        recipient=phone,
        text=text,
        # The conversation lane: the citizen is looking at the chat right now.
        priority=Priority.CONVERSATION,
    )


def notice(subscriber: Subscriber, text: str) -> Delivery | None:
    """A message to one subscriber who may not have written for days: sent as the template."""
    channel = (
        Channel.objects.filter(organization_id=subscriber.organization_id).order_by("id").first()
    )
    if channel is None:
        return None
    return Delivery.objects.create(
        organization_id=subscriber.organization_id,
        channel=channel,
        subscriber=subscriber,
        kind=Delivery.Kind.NOTICE,
        recipient=subscriber.phone,
        text=text,
        priority=Priority.CONVERSATION,
    )
