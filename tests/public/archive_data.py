"""Broadcasts as the archive finds them once the lifecycle has moved them: built straight
in the database, since what is under test is which of them the public sees."""

from datetime import timedelta

from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery, Priority

B = Broadcast.Status


def broadcast(org, text: str, status=B.SENT, *, started=True, topics=(), title="", ago=0):
    now = timezone.now() - timedelta(hours=ago)
    item = Broadcast.objects.create(
        organization=org, channel=org.channels.first(), text=text, title=title
    )
    # Topics first: once a broadcast has started they are frozen.
    if topics:
        item.topics.set(org.topics.filter(slug__in=topics))
    Broadcast.objects.filter(pk=item.pk).update(
        status=status,
        started_at=now if started else None,
        finished_at=now if status == B.SENT else None,
    )
    item.refresh_from_db()
    return item


def draft_sent_as_test(org, text: str) -> Broadcast:
    """A draft the office sent to its own phones only."""
    draft = broadcast(org, text, B.DRAFT, started=False)
    Delivery.objects.create(
        organization=org,
        channel=draft.channel,
        broadcast=draft,
        kind=Delivery.Kind.NOTICE,
        recipient="+393330000000",
        text=text,
        priority=Priority.CONVERSATION,
        status=Delivery.Status.SENT,
    )
    return draft
