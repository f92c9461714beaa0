"""Builders shared by the scheduling tests: moments in Rome, broadcasts in a given state."""

import datetime as dt
from zoneinfo import ZoneInfo

from banditore.broadcasts.models import Broadcast, Priority
from tests.factories import channel_of

ROME = ZoneInfo("Europe/Rome")


def rome(*args) -> dt.datetime:
    """A wall-clock moment in Rome (fold=0: the first of a repeated hour)."""
    return dt.datetime(*args, tzinfo=ROME)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def scheduled(org, at, priority=Priority.NORMAL, text="Mercato spostato") -> Broadcast:
    return Broadcast.objects.create(
        organization=org,
        channel=channel_of(org),
        text=text,
        priority=priority,
        status=Broadcast.Status.SCHEDULED,
        scheduled_at=at,
    )


def draft(org, text="Mercato spostato", status=Broadcast.Status.DRAFT, topics=()) -> Broadcast:
    b = Broadcast.objects.create(
        organization=org, channel=channel_of(org), text=text, status=status
    )
    b.topics.set(org.topics.filter(slug__in=topics))
    return b
