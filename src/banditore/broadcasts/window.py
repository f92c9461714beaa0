"""The citizen's 24-hour window and Meta's messaging limit: one definition of each, read by
the dispatcher (what it does) and by the estimate (what it says the dispatcher will do).

A leaf module: it imports only the models, so the dispatcher, cost.py and progress.py can all
use it without importing each other.
"""

import datetime

from django.db.models import Max, Q
from django.utils.translation import gettext_noop

from banditore.broadcasts.models import Delivery

# A citizen who wrote to us in the last 24 hours may get free text (not paid, not counted by
# the messaging limit); anyone else only a template.
FREE_WINDOW = datetime.timedelta(hours=24)
# A free send must land inside the window, not merely be claimed inside it: a claimed row may
# wait behind a batch, a retry or a slow provider. A window with less than this left gets the
# template; 15 minutes covers the claim-ahead, several backoffs and a send timeout.
WINDOW_MARGIN = datetime.timedelta(minutes=15)

# Messages the business starts: paid outside the window, and counted by Meta's tier.
BUSINESS_INITIATED = (Delivery.Kind.BROADCAST, Delivery.Kind.NOTICE)

# The error code on a queued row the dispatcher's tier gate holds back until the messaging
# limit has a place (ours, negative: never a provider's), and its title; a send clears both.
# broadcasts/progress.py reads them to say why a broadcast waits, and until when.
WAITING_FOR_TIER = -4
WAITING_TITLE = gettext_noop("waiting for WhatsApp's messaging limit")


def open_after(at: datetime.datetime) -> datetime.datetime:
    """A broadcast delivery goes free at `at` if its citizen last wrote after this moment."""
    return at - FREE_WINDOW + WINDOW_MARGIN


def goes_free(at: datetime.datetime, subscriber: str = "subscriber__") -> Q:
    """The citizen's window is open at `at`, with the margin: queries.CANDIDATES' rule, for
    the ORM (`subscriber` is the path from the queried model to the Subscriber: "" when
    querying subscribers themselves)."""
    return Q(**{f"{subscriber}last_inbound_at__gt": open_after(at)})


def messaging_limit(channel) -> int | None:
    """Unique recipients Meta allows the channel per rolling 24 h; None: no limit set."""
    if channel.kind != channel.Kind.WHATSAPP:
        return None
    return channel.whatsapp.messaging_limit


def business_sends_24h(channel_id: int, now: datetime.datetime):
    """The deliveries that hold a place in Meta's messaging limit now: business-initiated,
    not free text, sent in the last 24 hours or in flight this moment (claimed and not yet
    written back: the provider may already have counted them)."""
    return Delivery.objects.filter(
        Q(sent_at__gt=now - FREE_WINDOW) | Q(status=Delivery.Status.SENDING),
        channel_id=channel_id,
        kind__in=BUSINESS_INITIATED,
        free=False,
    ).order_by()


def places_taken(channel_id: int, now: datetime.datetime) -> int:
    """How many unique recipients count against the limit now."""
    return business_sends_24h(channel_id, now).values("recipient").distinct().count()


def place_frees_at(channel_id: int, nth: int, now: datetime.datetime) -> datetime.datetime | None:
    """When the `nth` place (1 = the first) frees, as the sends of the last 24 hours age out:
    each recipient's place frees 24 hours after the last business message to them. Past the
    places that will age out, the last of them; None if nothing ages out (all in flight:
    their places free 24 hours from now)."""
    latest = (
        business_sends_24h(channel_id, now)
        .filter(sent_at__gt=now - FREE_WINDOW)
        .values("recipient")
        .annotate(last=Max("sent_at"))
        .order_by("last")
        .values_list("last", flat=True)
    )
    freed = list(latest[nth - 1 : nth]) or list(latest.reverse()[:1])
    return freed[0] + FREE_WINDOW if freed else None
