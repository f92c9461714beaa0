"""The public archive: which of a comune's broadcasts a citizen can read again on the web.

Only what actually went out to subscribers: a broadcast that started sending (sending, sent,
or paused after it started). Drafts, approved or scheduled ones, cancelled ones and missed
ones never reached anyone; test sends are notices to the office's own phones that leave the
broadcast's status untouched, and a test key's broadcasts can never be started, so neither
shows here. Shown by the date it went out, newest first.
"""

from django.db.models import Q, QuerySet

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import Organization
from banditore.subscribers.models import Topic

B = Broadcast.Status
PAGE_SIZE = 20
FEED_SIZE = 30
# Long enough for any real search, short enough that a pasted essay does not become a query.
QUERY_MAX_LENGTH = 100


def published(org: Organization) -> QuerySet[Broadcast]:
    went_out = Q(status__in=[B.SENDING, B.SENT]) | Q(status=B.PAUSED, started_at__isnull=False)
    return (
        Broadcast.objects.filter(went_out, organization=org, started_at__isnull=False)
        .prefetch_related("topics")
        .order_by("-started_at", "-pk")
    )


def search(org: Organization, query: str = "", topic: Topic | None = None) -> QuerySet[Broadcast]:
    """The archive filtered by words (every word must appear, in the text or the title) and
    by one topic."""
    found = published(org)
    for word in clean_query(query).split():
        found = found.filter(Q(text__icontains=word) | Q(title__icontains=word))
    if topic is not None:
        found = found.filter(topics=topic)
    return found


def clean_query(query: str) -> str:
    return " ".join(query.split())[:QUERY_MAX_LENGTH]


def message(org: Organization, pk: int) -> Broadcast | None:
    return published(org).filter(pk=pk).first()


def public_posts(broadcast: Broadcast) -> list[str]:
    """Where the message was also posted for everyone (the comune's Telegram channel)."""
    from banditore.channels import registry

    posts = (
        Delivery.objects.filter(
            broadcast=broadcast,
            kind=Delivery.Kind.POST,
            status__in=[Delivery.Status.SENT, Delivery.Status.DELIVERED, Delivery.Status.READ],
        )
        .exclude(wamid=None)
        .select_related("channel")
    )
    links = []
    for post in posts:
        make = registry.of(post.channel).post_link
        if make and (link := make(post.recipient, post.wamid)):
            links.append(link)
    return links


def topic(org: Organization, slug: str) -> Topic | None:
    return org.topics.filter(slug=slug).first() if slug else None


def title_of(broadcast: Broadcast, length: int = 80) -> str:
    """A heading for a message: its title, or the start of its first line."""
    if broadcast.title:
        return broadcast.title
    first_line = broadcast.text.strip().splitlines()[0] if broadcast.text.strip() else ""
    return first_line if len(first_line) <= length else first_line[: length - 1].rstrip() + "…"
