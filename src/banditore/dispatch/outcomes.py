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


def mark_unreachable(delivery_ids: list[int]) -> None:
    Subscriber.objects.filter(
        deliveries__id__in=delivery_ids, status=Subscriber.Status.ACTIVE
    ).update(status=Subscriber.Status.UNREACHABLE)
