"""Starting a broadcast: its audience becomes Delivery rows in one set-based statement."""

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import audit
from banditore.subscribers.models import Subscriber


def reached(organization_id: int, topic_ids=(), zone_ids=()) -> QuerySet:
    """The one rule of who a broadcast reaches: the comune's active subscribers; with
    topics, those following at least one of them; with zones, those living in one of them.
    The compose page's count, the cost estimate and the start below all ask this."""
    subscribers = Subscriber.objects.filter(
        organization_id=organization_id, status=Subscriber.Status.ACTIVE
    )
    if topic_ids:
        follows = Subscriber.topics.through.objects.filter(topic_id__in=topic_ids)
        subscribers = subscribers.filter(pk__in=follows.values("subscriber_id"))
    if zone_ids:
        subscribers = subscribers.filter(zone_id__in=zone_ids)
    return subscribers


def targeted(broadcast: Broadcast) -> QuerySet:
    return reached(
        broadcast.organization_id,
        list(broadcast.topics.values_list("pk", flat=True)),
        list(broadcast.zones.values_list("pk", flat=True)),
    )


# -- name: materialise-audience
# One INSERT … SELECT: the database copies a million subscribers into the outbox without a
# row ever travelling to Python; `reached` is compiled into its WHERE. ON CONFLICT DO
# NOTHING (the unique broadcast+subscriber constraint) makes a repeated start harmless.
MATERIALISE = """
INSERT INTO broadcasts_delivery
  (organization_id, channel_id, broadcast_id, subscriber_id, kind, recipient, text, priority,
   status, attempts, claimed_by, fence, error_title, skip_reason, created_at)
SELECT s.organization_id, %s, %s, s.id, 'broadcast', s.phone, '',
       %s, 'queued', 0, '', 0, '', '', %s
FROM subscribers_subscriber s
WHERE s.id IN ({reached})
ON CONFLICT DO NOTHING
"""


class NotStartable(Exception):
    pass


@transaction.atomic
def start(broadcast: Broadcast, *, actor=None, label: str = "system") -> int:
    """Queue a broadcast for every subscriber it targets; return the audience size."""
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
    if broadcast.status not in (
        Broadcast.Status.DRAFT,
        Broadcast.Status.APPROVED,
        Broadcast.Status.SCHEDULED,
    ):
        raise NotStartable(f"broadcast {broadcast.pk} is {broadcast.status}")
    now = timezone.now()
    reached_sql, reached_params = targeted(broadcast).values("pk").query.sql_with_params()
    params = [broadcast.channel_id, broadcast.pk, broadcast.priority, now, *reached_params]
    with connection.cursor() as cur:
        cur.execute(MATERIALISE.format(reached=reached_sql), params)
    size = broadcast.recipients.count()
    broadcast.status = Broadcast.Status.SENDING if size else Broadcast.Status.SENT
    broadcast.started_at = now
    broadcast.finished_at = None if size else now
    broadcast.audience_size = size
    broadcast.save(update_fields=["status", "started_at", "finished_at", "audience_size"])
    audit(
        broadcast.organization,
        "broadcast.started",
        f"broadcast:{broadcast.pk}",
        actor=actor,
        label=label,
        audience=size,
    )
    return size


def status_counts(broadcast: Broadcast) -> dict[str, int]:
    """How many deliveries are in each state, every state listed (zeros included)."""
    from django.db.models import Count

    counts = dict.fromkeys(Delivery.Status.values, 0)
    rows = broadcast.recipients.values("status").annotate(n=Count("id"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts
