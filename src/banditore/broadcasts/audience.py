"""Starting a broadcast: its audience becomes Delivery rows, in set-based chunks that are
sendable as they land."""

import logging
import threading

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from pydantic import ValidationError

from banditore.broadcasts.models import AudienceLane, Broadcast, Delivery
from banditore.channels.models import Channel
from banditore.core.db import let_writers_in
from banditore.core.models import audit
from banditore.subscribers.models import Contact, Subscriber

log = logging.getLogger(__name__)


def channels_by_kind(organization_id: int, preferred: Channel | None = None) -> dict[str, int]:
    """The channel each kind of contact is reached on: the broadcast's own for its kind, the
    comune's first of each other kind."""
    found = {}
    for kind, pk in (
        Channel.objects.filter(organization_id=organization_id)
        .order_by("id")
        .values_list("kind", "pk")
    ):
        found.setdefault(kind, pk)
    if preferred is not None:
        found[preferred.kind] = preferred.pk
    return found


def _proven_chat() -> Exists:
    return Exists(
        Contact.objects.filter(
            subscriber=OuterRef("pk"),
            kind=Contact.Kind.TELEGRAM,
            verified_at__isnull=False,
            unreachable_at=None,
        )
    )


def reachable(kinds) -> Q:
    """Who has an address on one of these kinds: their number for WhatsApp, their proven
    chat with the bot for Telegram."""
    q = Q(pk__in=[])
    if Channel.Kind.WHATSAPP in kinds:
        q |= ~Q(phone="")
    if Channel.Kind.TELEGRAM in kinds:
        q |= _proven_chat()
    return q


def reached(organization_id: int, topic_ids=(), zone_ids=()) -> QuerySet:
    """The one rule of who a broadcast reaches: the comune's active subscribers that one of
    its channels can reach; with topics, those following at least one of them; with zones,
    those living in one of them. The compose page's count, the cost estimate and the start
    below all ask this."""
    subscribers = Subscriber.objects.filter(
        reachable(channels_by_kind(organization_id)),
        organization_id=organization_id,
        status=Subscriber.Status.ACTIVE,
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
# subscriber id range (after, upto] of one lane's stripe. A chunk can't land twice (its lane's
# cursor moves in the same transaction), so the insert runs without ON CONFLICT, which costs
# a speculative insertion per row (30% of a chunk, measured); the unique subscriber+broadcast
# constraint still stands guard, and should a chunk ever repeat, it is run again skipping
# the rows already there.
MATERIALISE = """
INSERT INTO broadcasts_delivery
  (organization_id, channel_id, broadcast_id, subscriber_id, kind, recipient, text, priority,
   status, attempts, claimed_by, fence, error_title, skip_reason, created_at)
SELECT s.organization_id, {channel}, %s, s.id, 'broadcast', {recipient}, '',
       %s, 'queued', 0, '', 0, '', '', %s
FROM subscribers_subscriber s
WHERE s.id IN ({reached}) AND s.id > %s {upto}
{on_conflict}
"""
# Where each citizen is reached: on WhatsApp by their number, without one on the bot by
# their chat (`reached` has already kept only those one of them can reach). The chat's
# lookup runs only for citizens without a number.
CHAT = (
    "(SELECT c.address FROM subscribers_contact c"
    " WHERE c.subscriber_id = s.id AND c.kind = 'telegram')"
)


def _destination(by_kind: dict[str, int]) -> tuple[str, str, list]:
    """The SELECT's channel and recipient expressions, and the channel expression's params."""
    whatsapp, telegram = by_kind.get(Channel.Kind.WHATSAPP), by_kind.get(Channel.Kind.TELEGRAM)
    if whatsapp and telegram:
        channel = "CASE WHEN s.phone <> '' THEN %s ELSE %s END"
        return (
            channel,
            f"CASE WHEN s.phone <> '' THEN s.phone ELSE {CHAT} END",
            [
                whatsapp,
                telegram,
            ],
        )
    if telegram:
        return "%s", CHAT, [telegram]
    return "%s", "s.phone", [whatsapp]


# The next chunk ends at the CHUNK-th reached subscriber of the stripe after the cursor (none:
# the rest is the last chunk): a keyset on the primary key, so a chunk costs the same at the
# end of a million as at the start, and a comune whose ids are sparse still gets full chunks.

# -- name: take-lane
# A chunk's first statement takes its lane: on PostgreSQL the lane's row, skipping lanes
# another process is filling (so two processes fill two lanes at once, and never one twice);
# on SQLite a write first, which is the one write lock anyway. The broadcast's status is read
# fresh with it. No lock on the broadcast itself: a cancel or a pause doesn't wait for a
# chunk, and the next chunk sees it (rows a chunk lands just after a cancel are skipped as
# cancelled when the dispatcher meets them).
TAKE_LANE = """
SELECT l.id, l.lane, l.lanes, l.cursor, b.status
FROM broadcasts_audiencelane l JOIN broadcasts_broadcast b ON b.id = l.broadcast_id
WHERE l.broadcast_id = %s AND NOT l.complete {which}
ORDER BY l.lane LIMIT 1 {skip_locked}
"""
SQLITE_WRITE_LOCK = "UPDATE broadcasts_audiencelane SET cursor = cursor WHERE broadcast_id = %s"

# Lanes per audience, by database: as many processes (threads, workers) at once. SQLite has
# one writer at a time: one lane. On PostgreSQL, settings.AUDIENCE_LANES (measured on 2
# cores: 1,000,000 rows took 12 s in 1 lane, 12-14 s in 2 or 3, so 1 by default).
LANES = {"postgresql": settings.AUDIENCE_LANES}

# Rows per chunk, each chunk its own short transaction, so the first one is sendable fast.
# Measured (bench/bench_audience.py): 50,000 is about a second on PostgreSQL under load.
CHUNK = 50_000
# SQLite holds its one write lock for a whole chunk: 20,000 rows is about 0.35 s, and a
# pause after each lets a waiting writer in (core.db.let_writers_in).
SQLITE_CHUNK = 20_000
# The first chunk of each lane is small: it lands in the caller's transaction, and the first
# message can leave only once that commits (5,000 rows took 0.3 s on PostgreSQL, 2 cores at
# load 3.5; 50,000 took 1.5-3.5 s). Nothing else slow may run before that commit: counting
# the rest of a million there cost the first message another second.
FIRST_CHUNK = 1_000

# PostgreSQL plans the outbox's queries from its statistics, and a big audience changes them
# at once: until they were refreshed (autovacuum's analyze comes a minute later, or never
# where it is off), the check that closes a finished broadcast, run at every write-back, read
# every index entry of a 1,000,000-row broadcast (171 ms each) and the drain fell from 947 to
# 64 msg/s (bench/bench_scale.py). An ANALYZE after a big audience lands costs about a second.
ANALYZE_AFTER = 50_000

# Still materialising in these states: a paused broadcast's rows are held by the dispatcher
# as they come; a cancelled one (or anything else) stops being materialised.
_MATERIALISING = (Broadcast.Status.SENDING, Broadcast.Status.PAUSED)


class NotStartable(Exception):
    pass


def lanes() -> int:
    return LANES.get(connection.vendor, 1)


def start(broadcast: Broadcast, *, actor=None, label: str = "system") -> int:
    """Queue a broadcast for every subscriber it targets; return how many are queued so far
    (the whole audience, unless it is bigger than the first chunks).

    The first chunk of each lane lands in the caller's transaction, so the broadcast is
    sendable as soon as it commits; the rest follow after that commit, lanes in parallel, by
    a worker if one is running (which also picks them up after a crash). `audience_size`
    grows with each chunk; the audit event broadcast.materialised records the final size."""
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
        broadcast.audience_complete = False
        broadcast.audience_size = 0
        broadcast.save(
            update_fields=[
                "status",
                "started_at",
                "finished_at",
                "audience_complete",
                "audience_size",
            ]
        )
        count = lanes()
        AudienceLane.objects.bulk_create(
            AudienceLane(broadcast=broadcast, lane=lane, lanes=count) for lane in range(count)
        )
        _queue_public_posts(broadcast)
        more = False
        for lane in range(count):
            more |= materialise_chunk(broadcast.pk, FIRST_CHUNK, first=True, lane=lane)
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
            transaction.on_commit(lambda pk=broadcast.pk: continue_after_start(pk))
    return size


def _queue_public_posts(broadcast: Broadcast) -> None:
    """One post per public channel of the comune (its Telegram channel's followers), sent by
    the dispatcher like every message of the broadcast, with the same retries and fencing."""
    from banditore.channels import registry

    for channel in Channel.objects.filter(organization_id=broadcast.organization_id):
        kind = registry.of(channel)
        try:
            where = kind.public_address(kind.config.model_validate(channel.config))
        except ValidationError:
            # A channel's broken settings must not hold up the broadcast to its citizens.
            log.warning("channel %s: settings unreadable, no public post", channel.pk,
                        extra={"channel_id": channel.pk, "broadcast_id": broadcast.pk})  # fmt: skip
            continue
        if where:
            Delivery.objects.create(
                organization_id=broadcast.organization_id,
                channel=channel,
                broadcast=broadcast,
                kind=Delivery.Kind.POST,
                recipient=where,
                priority=broadcast.priority,
            )


def continue_after_start(broadcast_id: int) -> None:
    """The rest of an audience: a running worker's (its resumer queues it within seconds,
    lanes in parallel), so a web request or a scheduler tick returns at once; with no worker
    alive (the CLI on its own, a test), here and now."""
    from banditore.ops import heartbeat

    if heartbeat.alive().exists():
        return
    materialise(broadcast_id)


def materialise_chunk(
    broadcast_id: int, chunk: int | None = None, *, first=False, lane: int | None = None
) -> bool:
    """Queue the next chunk of one lane of a broadcast's audience (the given one, or any
    lane no other process is filling), in one transaction; True if that lane, or another
    one, has more. Safe to call from any process at any time: it continues from the lane's
    cursor."""
    chunk = chunk or (SQLITE_CHUNK if connection.vendor == "sqlite" else CHUNK)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cur:
        if not postgres:
            cur.execute(SQLITE_WRITE_LOCK, [broadcast_id])
        cur.execute(
            TAKE_LANE.format(
                which="AND l.lane = %s" if lane is not None else "",
                skip_locked="FOR UPDATE OF l SKIP LOCKED" if postgres else "",
            ),
            [broadcast_id, *([lane] if lane is not None else [])],
        )
        row = cur.fetchone()
        if row is None:
            return False  # every lane is complete, or being filled by another process
        lane_id, stripe, stripes, after, status = row
        broadcast = Broadcast.objects.get(pk=broadcast_id)
        if status not in _MATERIALISING:
            AudienceLane.objects.filter(pk=lane_id).update(complete=True)
            return _lane_done(cur, broadcast, 0, first=first)
        # The id range goes into `reached` itself too, so both sides of the join are range
        # scans of this chunk's ids (a merge join), however big the whole audience is.
        ahead = targeted(broadcast).filter(pk__gt=after)
        if stripes > 1:
            ahead = ahead.alias(stripe=F("pk") % stripes).filter(stripe=stripe)
        end_sql, end_params = (
            ahead.order_by("pk").values("pk")[chunk - 1 : chunk].query.sql_with_params()
        )
        cur.execute(end_sql, end_params)
        end = cur.fetchone()
        if end:
            ahead = ahead.filter(pk__lte=end[0])
        reached_sql, reached_params = ahead.values("pk").query.sql_with_params()
        channel_sql, recipient_sql, channel_params = _destination(
            channels_by_kind(broadcast.organization_id, broadcast.channel)
        )
        params = [
            *channel_params,
            broadcast.pk,
            broadcast.priority,
            timezone.now(),
            *reached_params,
            after,
            *([end[0]] if end else []),
        ]
        upto = "AND s.id <= %s" if end else ""
        try:
            with transaction.atomic():
                cur.execute(
                    MATERIALISE.format(
                        channel=channel_sql,
                        recipient=recipient_sql,
                        reached=reached_sql,
                        upto=upto,
                        on_conflict="",
                    ),
                    params,
                )
        except IntegrityError:
            log.warning("broadcast %s: a chunk landed again; skipping its rows already queued",
                        broadcast_id, extra={"broadcast_id": broadcast_id})  # fmt: skip
            on_conflict = "ON CONFLICT DO NOTHING"
            cur.execute(
                MATERIALISE.format(
                    channel=channel_sql,
                    recipient=recipient_sql,
                    reached=reached_sql,
                    upto=upto,
                    on_conflict=on_conflict,
                ),
                params,
            )
        added = max(cur.rowcount, 0)
        if end:
            AudienceLane.objects.filter(pk=lane_id).update(cursor=end[0])
            # Last, so the broadcast's row is locked only for the moment before the commit.
            Broadcast.objects.filter(pk=broadcast_id).update(
                audience_size=F("audience_size") + added
            )
            return True
        AudienceLane.objects.filter(pk=lane_id).update(complete=True)
        return _lane_done(cur, broadcast, added, first=first)


def _lane_done(cur, broadcast: Broadcast, added: int, *, first: bool) -> bool:
    """A lane has landed its last chunk; if it was the last lane, the audience is complete.
    True if other lanes still wait.
    The broadcast's row is locked first: two lanes finishing at once take turns here, and
    the second one (reading afresh after the first one's commit) sees both complete."""
    cur.execute(
        "UPDATE broadcasts_broadcast SET audience_size = audience_size + %s WHERE id = %s "
        "RETURNING audience_size, audience_complete",
        [added, broadcast.pk],
    )
    size, complete = cur.fetchone()
    waiting = AudienceLane.objects.filter(broadcast_id=broadcast.pk, complete=False).exists()
    if not (complete or waiting):
        _complete_audience(broadcast, size, record=not first)
    return waiting


def _complete_audience(broadcast: Broadcast, size: int, *, record: bool = True) -> None:
    """The last chunk has landed: the size is exact (each chunk added what it inserted, in
    its own transaction), and a broadcast whose every row was already sent (or that reached
    nobody) finishes here, since no send will finish it."""
    from banditore.dispatch import queries

    AudienceLane.objects.filter(broadcast_id=broadcast.pk).delete()
    Broadcast.objects.filter(pk=broadcast.pk).update(audience_complete=True, audience_size=size)
    queries.finish_broadcasts({broadcast.pk}, timezone.now())
    if connection.vendor == "postgresql" and size >= ANALYZE_AFTER:
        transaction.on_commit(_analyze_outbox)
    if not record:
        return  # all in start()'s first chunks: its broadcast.started says the size
    audit(
        broadcast.organization,
        "broadcast.materialised",
        f"broadcast:{broadcast.pk}",
        label="system",
        audience=size,
    )


def _analyze_outbox() -> None:
    with connection.cursor() as cur:
        cur.execute("ANALYZE broadcasts_delivery")


def materialise(broadcast_id: int, stopping=lambda: False) -> None:
    """Every chunk still missing, each in its own transaction; on PostgreSQL the lanes at
    once, each in a thread of its own (the work is the database's: the threads only wait).
    `stopping` is asked between chunks: a worker's stop waits for one chunk at most."""
    pending = list(
        AudienceLane.objects.filter(broadcast_id=broadcast_id, complete=False).values_list(
            "lane", flat=True
        )
    )
    if connection.vendor != "postgresql" or len(pending) < 2:
        while not stopping() and materialise_chunk(broadcast_id):
            let_writers_in()
        return
    helpers = [
        threading.Thread(
            target=_fill_lane, args=(broadcast_id, lane, stopping), name=f"audience-{lane}"
        )
        for lane in pending[1:]
    ]
    for thread in helpers:
        thread.start()
    _fill_lane(broadcast_id, pending[0], stopping, own_connection=False)
    for thread in helpers:
        thread.join()


def _fill_lane(broadcast_id: int, lane: int, stopping, *, own_connection: bool = True) -> None:
    try:
        while not stopping() and materialise_chunk(broadcast_id, lane=lane):
            pass
    except Exception:
        # What is left of the lane is a worker's (resume_unfinished): nobody is lost.
        log.exception("broadcast %s: lane %s stopped", broadcast_id, lane,
                      extra={"broadcast_id": broadcast_id})  # fmt: skip
        if not own_connection:
            raise
    finally:
        if own_connection:
            connection.close()


def resume_unfinished(stopping=lambda: False) -> int:
    """Queue the rest of every audience not complete yet: those a worker was handed (see
    continue_after_start), and those whose starter crashed or was killed between chunks.
    Lanes another process is filling are left to it. How many audiences were unfinished."""
    # Cancelled ones too: their next chunk only marks them complete (nothing more queued).
    ids = list(Broadcast.objects.filter(audience_complete=False).values_list("pk", flat=True))
    for pk in ids:
        if stopping():
            break
        materialise(pk, stopping)
    return len(ids)


def status_counts(broadcast: Broadcast) -> dict[str, int]:
    """How many deliveries are in each state, every state listed (zeros included)."""
    from django.db.models import Count

    counts = dict.fromkeys(Delivery.Status.values, 0)
    rows = broadcast.recipients.values("status").annotate(n=Count("id"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts
