"""What the dispatcher does to the rest of the world after a provider's verdict."""

from banditore.channels.models import Channel
from banditore.core.models import audit
from banditore.subscribers.models import Subscriber


def pause_channel(channel_id: int, reason: str) -> None:
    """Stop all sending on a channel until an operator resumes it, and say why."""
    channel = Channel.objects.select_related("organization").get(pk=channel_id)
    if channel.status == Channel.Status.PAUSED:
        return
    Channel.objects.filter(pk=channel_id).update(status=Channel.Status.PAUSED, paused_reason=reason)
    audit(channel.organization, "channel.paused", str(channel), reason=reason)


# "User stopped marketing messages from your business": their word, so an opt-out.
OPTED_OUT = 131050


def opt_out(delivery_ids: list[int], channel: Channel) -> None:
    from banditore.subscribers import service
    from banditore.subscribers.models import ConsentEvent

    phones = Subscriber.objects.filter(
        deliveries__id__in=delivery_ids, status=Subscriber.Status.ACTIVE
    ).values_list("phone", flat=True)
    for phone in list(phones):
        service.unsubscribe(
            channel.organization,
            phone,
            source=ConsentEvent.Source.PROVIDER,
            evidence={"error": OPTED_OUT},
        )


def mark_unreachable(delivery_ids: list[int]) -> None:
    Subscriber.objects.filter(
        deliveries__id__in=delivery_ids, status=Subscriber.Status.ACTIVE
    ).update(status=Subscriber.Status.UNREACHABLE)
