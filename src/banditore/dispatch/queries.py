"""The dispatcher's hot-path SQL, in one place, named, with why each is shaped as it is.

Portable between SQLite (3.35+, for RETURNING) and PostgreSQL. Claims take no row locks: a
channel's queued rows are claimed only by the dispatcher holding its lease, and every claim
and write-back names the lease's epoch (the fence), so a dispatcher that lost its lease
without knowing it (stalled, partitioned) can neither claim nor overwrite the new owner's
rows. Times come from the worker's clock: keep the machines' clocks in sync (NTP).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from banditore.broadcasts import window
from banditore.broadcasts.models import Delivery
from banditore.channels.base import Outgoing
from banditore.ops import heartbeat

SkipReason = Delivery.SkipReason

# -- name: acquire-lease
# Take a free or expired lease. One statement, so two dispatchers racing for the same channel
# can't both win; the epoch grows with every acquisition and becomes the fence.
ACQUIRE_LEASE = """
UPDATE channels_channel
SET lease_owner = %s, lease_expires_at = %s, lease_epoch = lease_epoch + 1
WHERE id = %s AND status = 'active'
  AND (lease_owner = '' OR lease_expires_at IS NULL OR lease_expires_at < %s)
RETURNING lease_epoch
"""

# -- name: renew-leases
# Every lease this dispatcher still holds, renewed in one round trip. A lease that already
# lapsed is not renewed (another dispatcher may be taking it over, and the reaper may have
# requeued its rows): its pump stops and the channel is acquired again under a new epoch.
RENEW_LEASES = """
UPDATE channels_channel SET lease_expires_at = %s
WHERE lease_owner = %s AND status = 'active' AND lease_expires_at >= %s
RETURNING id, lease_epoch
"""

RELEASE_LEASE = """
UPDATE channels_channel SET lease_owner = '', lease_expires_at = NULL
WHERE id = %s AND lease_owner = %s AND lease_epoch = %s
"""

# -- name: channels-with-work
# Active channels that have something due, and who holds them. The partial index
# delivery_claim makes the EXISTS a short index probe per channel.
CHANNELS_WITH_WORK = """
SELECT c.id, c.lease_owner, c.lease_expires_at FROM channels_channel c
WHERE c.status = 'active' AND EXISTS (
  SELECT 1 FROM broadcasts_delivery d
  WHERE d.channel_id = c.id AND d.status = 'queued'
    AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %s))
"""

# -- name: reap
# Run by every worker, often: rows in flight under a lease that is gone (expired, or taken
# over under a newer epoch) go back to the queue. The 'sending' set is small (what is in
# flight), and the partial index delivery_inflight holds exactly it. The fence is left as it
# was: the old owner's late write-back of a message it did send still lands, as long as
# nobody has claimed the row again. A reap is not an attempt: attempts count sends.
# Rows another transaction holds (a stalled owner's write-back) are left for the next
# reap: waiting on them would stall this worker's lease renewals behind a process that sleeps.
REAP = """
UPDATE broadcasts_delivery SET status = 'queued', claimed_by = ''
WHERE id IN (
  SELECT d.id FROM broadcasts_delivery d
  WHERE d.status = 'sending' {channel} AND NOT EXISTS (
    SELECT 1 FROM channels_channel c
    WHERE c.id = d.channel_id AND c.lease_epoch = d.fence AND c.lease_expires_at >= %s)
  {skip_locked})
"""

# -- name: candidates
# The next due deliveries of one lane after a keyset cursor (id > last seen): scanning from
# the start each time would walk the dead index entries that claimed rows leave behind until
# vacuum, and claims would slow down as a big broadcast drains. With each row, what decides
# whether it may still go: its subscriber's status and its broadcast's; and whether it goes
# as free text: a broadcast to a citizen who wrote after the given moment (window.open_after:
# 24 hours ago less a margin, so the send lands inside the window) and whose window the
# provider has not already found closed.
CANDIDATES = """
SELECT d.id, d.kind, d.subscriber_id IS NULL AND d.recipient <> '', s.status, b.status,
  d.kind = 'broadcast' AND NOT d.window_closed AND s.last_inbound_at > %s
FROM broadcasts_delivery d
LEFT JOIN subscribers_subscriber s ON s.id = d.subscriber_id
LEFT JOIN broadcasts_broadcast b ON b.id = d.broadcast_id
WHERE d.channel_id = %s AND d.status = 'queued' AND d.priority = %s AND d.id > %s
  AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %s)
ORDER BY d.id LIMIT %s {skip_locked}
"""

# PostgreSQL: rows another claim holds in a transaction not yet committed are passed over,
# not waited for. A worker stalled inside its claim (a paused VM) keeps its row locks until
# the server ends its idle transaction; the new owner sends everything else meanwhile and
# finds those rows again when the lane is rescanned. SQLite has one writer at a time anyway.
SKIP_LOCKED = "FOR UPDATE OF d SKIP LOCKED"


def _skip_locked() -> str:
    return SKIP_LOCKED if connection.vendor == "postgresql" else ""


# -- name: claim
# The candidates that may go become ours, re-checked in the same statement: still queued,
# the subscriber still active (a reply goes to whoever wrote, subscribed or not: the goodbye
# after CANCELLAMI is one; a notice to no subscriber is a test send to an operator's phone),
# the broadcast still sending (a test notice shows a broadcast in any state), and the lease
# still ours under this epoch. An opt-out or a cancel committed a moment ago is final.
# Whether it goes free is recorded now, in the claim, so that the messaging limit's count
# (window.business_sends_24h) knows the rows in flight.
CLAIM = """
UPDATE broadcasts_delivery SET status = 'sending', claimed_by = %s, fence = %s, free = {free}
WHERE id IN ({ids}) AND status = 'queued'
  AND (kind IN ('reply', 'post')
    OR (kind = 'notice' AND subscriber_id IS NULL AND recipient <> '')
    OR EXISTS (
    SELECT 1 FROM subscribers_subscriber s
    WHERE s.id = broadcasts_delivery.subscriber_id AND s.status = 'active'))
  AND (broadcast_id IS NULL OR kind = 'notice' OR EXISTS (
    SELECT 1 FROM broadcasts_broadcast b
    WHERE b.id = broadcasts_delivery.broadcast_id AND b.status = 'sending'))
  AND EXISTS (
    SELECT 1 FROM channels_channel c
    WHERE c.id = %s AND c.lease_owner = %s AND c.lease_epoch = %s AND c.status = 'active')
RETURNING id, kind, recipient, text, broadcast_id, priority, attempts, created_at, free
"""

# A row whose subscriber is gone was erased (or queued by a chunk that landed just after the
# erasure, see Delivery.subscriber): the number goes with it.
SKIP = """
UPDATE broadcasts_delivery SET status = 'skipped', skip_reason = %s, claimed_by = '',
  recipient = CASE WHEN %s = 'erased' THEN '' ELSE recipient END
WHERE id = %s AND status = 'queued'
"""

HOLD = "UPDATE broadcasts_delivery SET status = 'held' WHERE id = %s AND status = 'queued'"

# -- name: wait-for-tier
# Business-initiated rows beyond what Meta's messaging limit still allows: due again when the
# oldest places free up, so neither the claim nor CHANNELS_WITH_WORK spins on them meanwhile.
# The error code says why they wait (broadcasts/progress.py reads it); a send clears it.
WAIT_FOR_TIER = """
UPDATE broadcasts_delivery SET next_attempt_at = %s, error_code = %s, error_title = %s
WHERE id IN ({ids}) AND status = 'queued'
"""

# -- name: unclaim
# Claimed but never sent (the pump stopped first): back to the queue, the attempt unspent.
UNCLAIM = """
UPDATE broadcasts_delivery SET status = 'queued', claimed_by = ''
WHERE id = %s AND status = 'sending' AND fence = %s
"""

# Write-backs: a row counts a send attempt when, and only when, it was really sent. They
# apply while the row is still ours (sending under our fence) or was reaped and not claimed
# again since (queued, fence unchanged): a message that did go out is recorded as sent
# rather than sent twice.
_OURS = "WHERE id = %s AND fence = %s AND status IN ('sending', 'queued')"

# -- name: mark-sent
MARK_SENT = f"""
UPDATE broadcasts_delivery
SET status = 'sent', wamid = %s, sent_at = %s, claimed_by = '', attempts = attempts + 1,
    next_attempt_at = NULL, error_code = NULL, error_title = %s
{_OURS}
"""

# -- name: requeue
MARK_RETRY = f"""
UPDATE broadcasts_delivery
SET status = 'queued', claimed_by = '', attempts = attempts + 1, next_attempt_at = %s,
    error_code = %s, error_title = %s
{_OURS}
"""

# -- name: requeue-as-template
# Free text the provider refused because the citizen's window had closed after all: not a
# failure; it goes again at once, as the template.
MARK_TEMPLATE = f"""
UPDATE broadcasts_delivery
SET status = 'queued', claimed_by = '', attempts = attempts + 1, next_attempt_at = NULL,
    window_closed = TRUE, free = FALSE, error_code = %s, error_title = %s
{_OURS}
"""

# -- name: mark-failed
MARK_FAILED = f"""
UPDATE broadcasts_delivery
SET status = 'failed', claimed_by = '', attempts = attempts + 1, failed_at = %s,
    error_code = %s, error_title = %s
{_OURS}
"""

# -- name: finish-broadcasts
# A sending broadcast with nothing left queued, held or in flight is done, once its whole
# audience is queued: while chunks are still landing, an empty queue is only a gap.
FINISH_BROADCASTS = """
UPDATE broadcasts_broadcast SET status = 'sent', finished_at = %s
WHERE status = 'sending' AND audience_complete AND id IN ({ids}) AND NOT EXISTS (
  SELECT 1 FROM broadcasts_delivery d
  WHERE d.broadcast_id = broadcasts_broadcast.id AND d.status IN ('queued', 'sending', 'held'))
"""


def _marks(n: int) -> str:
    return ",".join(["%s"] * n)


def acquire_lease(channel_id: int, owner: str, seconds: float) -> int | None:
    """The new epoch if the lease is now ours, else None."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(ACQUIRE_LEASE, [owner, now + timedelta(seconds=seconds), channel_id, now])
        row = cur.fetchone()
    return row[0] if row else None


def renew_leases(owner: str, seconds: float) -> dict[int, int]:
    """Renew every live lease of `owner`; return {channel id: epoch} of those renewed."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(RENEW_LEASES, [now + timedelta(seconds=seconds), owner, now])
        return dict(cur.fetchall())


def release_lease(channel_id: int, owner: str, epoch: int) -> None:
    with connection.cursor() as cur:
        cur.execute(RELEASE_LEASE, [channel_id, owner, epoch])


def channels_with_work() -> list[tuple[int, str, datetime | None]]:
    with connection.cursor() as cur:
        cur.execute(CHANNELS_WITH_WORK, [timezone.now()])
        return list(cur.fetchall())


def live_workers() -> int:
    """Worker processes heartbeating now: what the dispatchers split the channels among."""
    return heartbeat.alive().count()


def reap(channel_id: int | None = None) -> int:
    """Requeue the rows of lost leases: every channel's, or (when a lease was just taken)
    one channel's, which the in-flight index finds without reading the others'."""
    channel = "" if channel_id is None else "AND d.channel_id = %s"
    params = [] if channel_id is None else [channel_id]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            REAP.format(channel=channel, skip_locked=_skip_locked()), [*params, timezone.now()]
        )
        return cur.rowcount


def _why_not(
    kind: str, to_operator: bool, subscriber_status: str | None, broadcast_status: str | None
):
    """Why a queued row may not go now: (skip reason, hold); (None, False) if it may."""
    if kind == Delivery.Kind.NOTICE and to_operator:
        # A test send to an operator's own phone, in any state of the broadcast it shows.
        return None, False
    if broadcast_status in ("cancelled",):
        return SkipReason.CANCELLED, False
    if broadcast_status is not None and broadcast_status != "sending":
        return None, True  # paused (or not started): it waits, out of the claim index
    if kind in (Delivery.Kind.REPLY, Delivery.Kind.POST):
        return None, False
    if subscriber_status is None:
        return SkipReason.ERASED, False
    if subscriber_status == "unreachable":
        return SkipReason.UNREACHABLE, False
    if subscriber_status != "active":
        return SkipReason.UNSUBSCRIBED, False
    return None, False


@dataclass(frozen=True)
class Claim:
    rows: list[Outgoing]
    # The highest id looked at, and whether the lane had fewer due rows than asked for.
    last_id: int
    exhausted: bool
    # Business-initiated rows left queued because the messaging limit had no place for them.
    waiting: tuple[int, ...] = ()

    @property
    def places_taken(self) -> int:
        """Rows claimed that take a place in the messaging limit (not free, not replies)."""
        return sum(1 for r in self.rows if r.kind != Delivery.Kind.REPLY and not r.free)


def _outgoing(row) -> Outgoing:
    *fields, created_at, free = row
    # A raw cursor on SQLite reads a timestamp back naive (the ORM would make it aware).
    if timezone.is_naive(created_at):
        created_at = timezone.make_aware(created_at, UTC)
    return Outgoing(*fields, created_at, free=bool(free))


def claim(
    channel_id: int,
    owner: str,
    epoch: int,
    priority: int,
    after_id: int,
    limit: int,
    places: int | None = None,
) -> Claim:
    """Claim the lane's next due rows. `places`: how many business-initiated rows the
    messaging limit still allows (None: no limit); the rest are left queued, in `waiting`."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            CANDIDATES.format(skip_locked=_skip_locked()),
            [window.open_after(now), channel_id, priority, after_id, now, limit],
        )
        candidates = cur.fetchall()
        if not candidates:
            return Claim([], after_id, True)
        go, free, skip, hold, waiting = [], [], [], [], []
        for delivery_id, kind, to_operator, subscriber, broadcast, goes_free in candidates:
            reason, held = _why_not(kind, bool(to_operator), subscriber, broadcast)
            if reason:
                skip.append([reason, reason, delivery_id])
            elif held:
                hold.append([delivery_id])
            elif goes_free:
                free.append(delivery_id)
                go.append(delivery_id)
            elif places is None or kind == Delivery.Kind.REPLY:
                go.append(delivery_id)
            elif places > 0:
                places -= 1
                go.append(delivery_id)
            else:
                waiting.append(delivery_id)
        rows: list[Outgoing] = []
        if go:
            free_sql = f"(id IN ({_marks(len(free))}))" if free else "FALSE"
            cur.execute(
                CLAIM.format(ids=_marks(len(go)), free=free_sql),
                [owner, epoch, *free, *go, channel_id, owner, epoch],
            )
            rows = [_outgoing(row) for row in cur.fetchall()]
        if skip:
            cur.executemany(SKIP, skip)
        if hold:
            cur.executemany(HOLD, hold)
    # RETURNING order is not guaranteed.
    rows.sort(key=lambda r: r.id)
    return Claim(rows, candidates[-1][0], len(candidates) < limit, tuple(waiting))


def wait_for_tier(ids: list[int], until: datetime) -> None:
    params = [until, window.WAITING_FOR_TIER, window.WAITING_TITLE, *ids]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(WAIT_FOR_TIER.format(ids=_marks(len(ids))), params)


def unclaim(ids: list[int], fence: int) -> None:
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(UNCLAIM, [[i, fence] for i in ids])


def write_outcomes(sent: list, retry: list, failed: list, as_template: list = ()) -> None:
    """Bulk write-back: one executemany per kind of outcome. Rows end with [id, fence]."""
    with connection.cursor() as cur:
        if sent:
            cur.executemany(MARK_SENT, sent)
        if retry:
            cur.executemany(MARK_RETRY, retry)
        if as_template:
            cur.executemany(MARK_TEMPLATE, as_template)
        if failed:
            cur.executemany(MARK_FAILED, failed)


def finish_broadcasts(ids: set[int], now: datetime) -> None:
    if not ids:
        return
    with connection.cursor() as cur:
        cur.execute(FINISH_BROADCASTS.format(ids=_marks(len(ids))), [now, *sorted(ids)])
