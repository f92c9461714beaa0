"""Starting a broadcast: its audience becomes Delivery rows, in set-based chunks that are
sendable as they land."""

import time

from django.db import connection, transaction
from django.db.models import F, QuerySet
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
# One INSERT … SELECT per chunk: the database copies subscribers into the outbox without a
# row ever travelling to Python; `reached` is compiled into its WHERE, and the chunk is the
# subscriber id range (after, upto]. ON CONFLICT DO NOTHING (the unique broadcast+subscriber
# constraint) makes a repeated chunk harmless: a resume after a crash can't queue anyone twice.
MATERIALISE = """
INSERT INTO broadcasts_delivery
  (organization_id, channel_id, broadcast_id, subscriber_id, kind, recipient, text, priority,
   status, attempts, claimed_by, fence, error_title, skip_reason, created_at)
SELECT s.organization_id, %s, %s, s.id, 'broadcast', s.phone, '',
       %s, 'queued', 0, '', 0, '', '', %s
FROM subscribers_subscriber s
WHERE s.id IN ({reached}) AND s.id > %s {upto}
ON CONFLICT DO NOTHING
"""

# The next chunk ends at the CHUNK-th reached subscriber after the cursor (none: the rest is
# the last chunk): a keyset on the primary key, so a chunk costs the same at the end of a
# million as at the start, and a comune whose ids are sparse still gets full chunks.

# -- name: lock-for-chunk
# A chunk's first statement is a write to the broadcast: on PostgreSQL it locks the row (two
# materialisers, or a cancel, take turns); on SQLite it is the write lock anyway. Under it
# the cursor and the status are read fresh.
LOCK_FOR_CHUNK = """
UPDATE broadcasts_broadcast SET audience_cursor = audience_cursor
WHERE id = %s RETURNING audience_cursor, audience_complete, status
"""

# Rows per chunk, each chunk its own short transaction, so the first one is sendable fast.
# Measured (bench/bench_audience.py): 50,000 is about a second on PostgreSQL under load.
CHUNK = 50_000
# SQLite holds its one write lock for a whole chunk: 20,000 rows is about 0.35 s, and the
# pause after each lets a waiting writer in (its busy handler sleeps up to 100 ms between
# tries: back-to-back chunks starved a webhook's write for the whole 100,000, 2 s).
SQLITE_CHUNK = 20_000
# The first chunk is small: it lands in the caller's transaction, and the first message can
# leave only once that commits (5,000 rows took 0.3 s on PostgreSQL, 2 cores at load 3.5;
# 50,000 took 1.5-3.5 s). Nothing else slow may run before that commit: counting the rest
# of a million there cost the first message another second.
FIRST_CHUNK = 1_000
SQLITE_GAP_SECONDS = 0.12

# PostgreSQL: the four foreign keys checked per row during the insert, not queued as
# deferred triggers that run at commit. Measured (EXPLAIN ANALYZE, one 50,000-row chunk, load
# 4.5 on 2 cores): immediate 3.5 s in all; deferred 2.8 s for the insert plus 1.7 s at commit.
# bench/bench_audience.py's audience_1m_materialise_seconds_pg_deferred is the whole
# million with this off. Dropping the redundant FK indexes (broadcast_id, organization_id,
# channel_id) made no measurable difference to a chunk, so they stay.
IMMEDIATE_FK_CHECKS = True

# Still materialising in these states: a paused broadcast's rows are held by the dispatcher
# as they come; a cancelled one (or anything else) stops being materialised.
_MATERIALISING = (Broadcast.Status.SENDING, Broadcast.Status.PAUSED)


class NotStartable(Exception):
    pass


def start(broadcast: Broadcast, *, actor=None, label: str = "system") -> int:
    """Queue a broadcast for every subscriber it targets; return how many are queued so far
    (the whole audience, unless it is bigger than FIRST_CHUNK).

    The first chunk lands in the caller's transaction, so the broadcast is sendable as soon as
    it commits; the rest follow after that commit, chunk by chunk (and a worker's
    `resume_unfinished` picks them up after a crash). `audience_size` grows with each chunk;
    the audit event broadcast.materialised records the final size."""
    with transaction.atomic():
        broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if broadcast.status not in (
            Broadcast.Status.DRAFT,
            Broadcast.Status.APPROVED,
            Broadcast.Status.SCHEDULED,
        ):
            raise NotStartable(f"broadcast {broadcast.pk} is {broadcast.status}")
        now = timezone.now()
        broadcast.status = Broadcast.Status.SENDING
        broadcast.started_at = now
        broadcast.finished_at = None
        broadcast.audience_cursor = 0
        broadcast.audience_complete = False
        broadcast.audience_size = 0
        broadcast.save(
            update_fields=[
                "status",
                "started_at",
                "finished_at",
                "audience_cursor",
                "audience_complete",
                "audience_size",
            ]
        )
        more = materialise_chunk(broadcast.pk, FIRST_CHUNK, first=True)
        broadcast.refresh_from_db(fields=["status", "audience_size"])
        size = broadcast.audience_size
        audit(
            broadcast.organization,
            "broadcast.started",
            f"broadcast:{broadcast.pk}",
            actor=actor,
            label=label,
            audience=size,
            complete=not more,
        )
        if more:
            # After the caller's commit: chunks of our own can't commit inside its transaction.
            transaction.on_commit(lambda pk=broadcast.pk: materialise(pk))
    return size


def materialise_chunk(broadcast_id: int, chunk: int | None = None, *, first=False) -> bool:
    """Queue the next chunk of a broadcast's audience, in one transaction; True if more is
    left. Safe to call from any process at any time: it continues from the stored cursor."""
    chunk = chunk or (SQLITE_CHUNK if connection.vendor == "sqlite" else CHUNK)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(LOCK_FOR_CHUNK, [broadcast_id])
        row = cur.fetchone()
        if row is None or row[1]:
            return False
        after, _complete, status = row
        broadcast = Broadcast.objects.get(pk=broadcast_id)
        if status not in _MATERIALISING:
            _complete_audience(cur, broadcast)
            return False
        immediate = IMMEDIATE_FK_CHECKS and connection.vendor == "postgresql"
        if immediate:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The id range goes into `reached` itself too, so both sides of the join are range
        # scans of this chunk's ids (a merge join), however big the whole audience is.
        ahead = targeted(broadcast).filter(pk__gt=after)
        end_sql, end_params = (
            ahead.order_by("pk").values("pk")[chunk - 1 : chunk].query.sql_with_params()
        )
        cur.execute(end_sql, end_params)
        end = cur.fetchone()
        if end:
            ahead = ahead.filter(pk__lte=end[0])
        reached_sql, reached_params = ahead.values("pk").query.sql_with_params()
        upto = "AND s.id <= %s" if end else ""
        params = [
            broadcast.channel_id,
            broadcast.pk,
            broadcast.priority,
            timezone.now(),
            *reached_params,
            after,
            *([end[0]] if end else []),
        ]
        cur.execute(MATERIALISE.format(reached=reached_sql, upto=upto), params)
        added = max(cur.rowcount, 0)
        if immediate:
            # Back to Django's default for whatever else the caller's transaction does.
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
        if end:
            Broadcast.objects.filter(pk=broadcast_id).update(
                audience_cursor=end[0], audience_size=F("audience_size") + added
            )
            return True
        _complete_audience(cur, broadcast, broadcast.audience_size + added, record=not first)
        return False


def _complete_audience(
    cur, broadcast: Broadcast, size: int | None = None, *, record: bool = True
) -> None:
    """The last chunk has landed: the size becomes exact (each chunk added what it inserted,
    in its own transaction), and a broadcast whose every row was already sent (or that
    reached nobody) finishes here, since no send will finish it."""
    from banditore.dispatch import queries

    if size is None:
        size = broadcast.recipients.count()
    Broadcast.objects.filter(pk=broadcast.pk).update(audience_complete=True, audience_size=size)
    queries.finish_broadcasts({broadcast.pk}, timezone.now())
    if not record:
        return  # all in start()'s first chunk: its broadcast.started says the size
    audit(
        broadcast.organization,
        "broadcast.materialised",
        f"broadcast:{broadcast.pk}",
        label="system",
        audience=size,
    )


def materialise(broadcast_id: int) -> None:
    """Every chunk still missing, each in its own transaction."""
    while materialise_chunk(broadcast_id):
        if connection.vendor == "sqlite":
            time.sleep(SQLITE_GAP_SECONDS)


def resume_step() -> bool:
    """One more chunk of every broadcast whose audience is not complete (the caller that
    started it crashed or was killed, e.g. a web request past its timeout); True while some
    have more. The worker calls it in a loop of its own, so a crash loses no recipient."""
    # Cancelled ones too: their next chunk only marks them complete (nothing more queued).
    ids = list(Broadcast.objects.filter(audience_complete=False).values_list("pk", flat=True))
    more = False
    for pk in ids:
        more |= materialise_chunk(pk)
    return more


def resume_unfinished() -> int:
    """Every unfinished audience, to the end; how many broadcasts were unfinished."""
    count = Broadcast.objects.filter(audience_complete=False).count()
    while resume_step():
        if connection.vendor == "sqlite":
            time.sleep(SQLITE_GAP_SECONDS)
    return count


def status_counts(broadcast: Broadcast) -> dict[str, int]:
    """How many deliveries are in each state, every state listed (zeros included)."""
    from django.db.models import Count

    counts = dict.fromkeys(Delivery.Status.values, 0)
    rows = broadcast.recipients.values("status").annotate(n=Count("id"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts
