"""The dispatcher's hot-path SQL, in one place, named, with why each is shaped as it is.

Portable between SQLite (3.35+, for RETURNING) and PostgreSQL. No row locks are needed for
claims: a channel's deliveries are touched only by the dispatcher holding its lease.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

# -- name: take-lease
# Take (or renew) a channel's lease if it is free, expired or already ours. One statement,
# so two dispatchers racing for the same channel can't both win.
TAKE_LEASE = """
UPDATE channels_channel SET lease_owner = %s, lease_expires_at = %s
WHERE id = %s AND status = 'active'
  AND (lease_owner = '' OR lease_owner = %s OR lease_expires_at IS NULL OR lease_expires_at < %s)
"""

# -- name: channels-with-work
# Active channels that have something due. The partial index delivery_claim makes the
# EXISTS a short index probe per channel.
CHANNELS_WITH_WORK = """
SELECT c.id, c.lease_owner FROM channels_channel c
WHERE c.status = 'active' AND EXISTS (
  SELECT 1 FROM broadcasts_delivery d
  WHERE d.channel_id = c.id AND d.status = 'queued'
    AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %s))
"""

# -- name: reclaim-orphans
# Run by a dispatcher as it starts draining a channel it just leased: nobody else may be
# sending on it now, so whatever is still 'sending' belongs to a dead (or stalled) one and
# goes back to the queue. The few that were in flight may reach the citizen twice:
# at-least-once, as emergencies prefer.
RECLAIM_ORPHANS = """
UPDATE broadcasts_delivery SET status = 'queued', claimed_by = ''
WHERE channel_id = %s AND status = 'sending'
"""

# -- name: unclaim
# Claimed but never sent (the pump stopped first): back to the queue, the attempt unspent.
UNCLAIM = """
UPDATE broadcasts_delivery SET status = 'queued', claimed_by = '', attempts = attempts - 1
WHERE id = %s AND status = 'sending'
"""

# -- name: claim
# Claim the next due deliveries of one priority after a keyset cursor (id > last claimed):
# scanning from the start each time would walk the dead index entries that claimed rows
# leave behind until vacuum, and claims would slow down as a big broadcast drains.
CLAIM = """
UPDATE broadcasts_delivery
SET status = 'sending', claimed_by = %s, attempts = attempts + 1
WHERE id IN (
  SELECT id FROM broadcasts_delivery
  WHERE channel_id = %s AND status = 'queued' AND priority = %s AND id > %s
    AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
  ORDER BY id LIMIT %s)
RETURNING id, kind, recipient, text, broadcast_id, priority, attempts
"""

# -- name: mark-sent
MARK_SENT = """
UPDATE broadcasts_delivery SET status = 'sent', wamid = %s, sent_at = %s, claimed_by = ''
WHERE id = %s AND status = 'sending'
"""

# -- name: requeue
MARK_RETRY = """
UPDATE broadcasts_delivery
SET status = 'queued', claimed_by = '', next_attempt_at = %s, error_code = %s, error_title = %s
WHERE id = %s AND status = 'sending'
"""

# -- name: mark-failed
MARK_FAILED = """
UPDATE broadcasts_delivery
SET status = 'failed', claimed_by = '', failed_at = %s, error_code = %s, error_title = %s
WHERE id = %s AND status = 'sending'
"""

# -- name: finish-broadcasts
# A sending broadcast with nothing left queued or in flight is done.
FINISH_BROADCASTS = """
UPDATE broadcasts_broadcast SET status = 'sent', finished_at = %s
WHERE status = 'sending' AND id IN ({ids}) AND NOT EXISTS (
  SELECT 1 FROM broadcasts_delivery d
  WHERE d.broadcast_id = broadcasts_broadcast.id AND d.status IN ('queued', 'sending'))
"""


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    recipient: str
    text: str
    broadcast_id: int | None
    priority: int
    attempts: int


def take_lease(channel_id: int, owner: str, seconds: float) -> bool:
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(TAKE_LEASE, [owner, now + timedelta(seconds=seconds), channel_id, owner, now])
        return cur.rowcount == 1


def release_lease(channel_id: int, owner: str) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE channels_channel SET lease_owner = '', lease_expires_at = NULL "
            "WHERE id = %s AND lease_owner = %s",
            [channel_id, owner],
        )


def channels_with_work() -> list[tuple[int, str]]:
    with connection.cursor() as cur:
        cur.execute(CHANNELS_WITH_WORK, [timezone.now()])
        return list(cur.fetchall())


def reclaim_orphans(channel_id: int) -> int:
    with connection.cursor() as cur:
        cur.execute(RECLAIM_ORPHANS, [channel_id])
        return cur.rowcount


def unclaim(ids: list[int]) -> None:
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(UNCLAIM, [[i] for i in ids])


def claim(channel_id: int, owner: str, priority: int, after_id: int, limit: int) -> list[Claimed]:
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(CLAIM, [owner, channel_id, priority, after_id, timezone.now(), limit])
        rows = [Claimed(*row) for row in cur.fetchall()]
    # RETURNING order is not guaranteed; the cursor needs the highest id.
    rows.sort(key=lambda r: r.id)
    return rows


def write_outcomes(sent: list, retry: list, failed: list) -> None:
    """Bulk write-back: one executemany per kind of outcome, one transaction."""
    with transaction.atomic(), connection.cursor() as cur:
        if sent:
            cur.executemany(MARK_SENT, sent)
        if retry:
            cur.executemany(MARK_RETRY, retry)
        if failed:
            cur.executemany(MARK_FAILED, failed)


def finish_broadcasts(ids: set[int], now: datetime) -> None:
    if not ids:
        return
    with connection.cursor() as cur:
        cur.execute(FINISH_BROADCASTS.format(ids=",".join(["%s"] * len(ids))), [now, *sorted(ids)])
