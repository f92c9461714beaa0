"""Starting a broadcast: its audience becomes Delivery rows in one set-based statement."""

from django.db import connection, transaction
from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import audit

# -- name: materialise-audience
# One INSERT … SELECT: the database copies a million subscribers into the outbox without a
# row ever travelling to Python. ON CONFLICT DO NOTHING (the unique broadcast+subscriber
# constraint) makes a repeated start harmless. Only active subscribers; with topics, only
# those following at least one of them.
MATERIALISE = """
INSERT INTO broadcasts_delivery
  (organization_id, channel_id, broadcast_id, subscriber_id, kind, recipient, text, priority,
   status, attempts, claimed_by, fence, error_title, skip_reason, created_at)
SELECT s.organization_id, %(channel)s, %(broadcast)s, s.id, 'broadcast', s.phone, '',
       %(priority)s, 'queued', 0, '', 0, '', '', %(now)s
FROM subscribers_subscriber s
WHERE s.organization_id = %(org)s AND s.status = 'active' {topic_filter}
ON CONFLICT DO NOTHING
"""
TOPIC_FILTER = """
  AND EXISTS (SELECT 1 FROM subscribers_subscriber_topics st
              JOIN broadcasts_broadcast_topics bt ON bt.topic_id = st.topic_id
              WHERE st.subscriber_id = s.id AND bt.broadcast_id = %(broadcast)s)
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
    has_topics = broadcast.topics.exists()
    sql = MATERIALISE.format(topic_filter=TOPIC_FILTER if has_topics else "")
    params = {
        "channel": broadcast.channel_id,
        "broadcast": broadcast.pk,
        "priority": broadcast.priority,
        "now": now,
        "org": broadcast.organization_id,
    }
    with connection.cursor() as cur:
        cur.execute(sql, params)
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
