"""Status items move deliveries forward: sent < delivered < read; failed only before that.

Webhooks repeat and arrive out of order, so each update names the states it may move from:
applying the same status twice, or an older one after a newer, changes nothing. A batch's
statuses are applied set-based: on PostgreSQL one statement for the lot, as if each status
name were applied in timeline order.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.base import RETRY, Action, SendError
from banditore.channels.models import Channel
from banditore.dispatch import outcomes

S = Delivery.Status
# For each incoming status: the states a delivery may be in for it to apply. Never from
# skipped or held: those rows were not sent under this wamid's life, or must stay put.
MOVES_FROM = {
    "sent": (S.QUEUED, S.SENDING),
    "delivered": (S.QUEUED, S.SENDING, S.SENT, S.FAILED),
    "read": (S.QUEUED, S.SENDING, S.SENT, S.DELIVERED, S.FAILED),
    "failed": (S.QUEUED, S.SENDING, S.SENT),
}
FORWARD = ("sent", "delivered", "read")
STAMP = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}
# PostgreSQL's VALUES lists stay well inside its 65,535 parameters per statement.
CHUNK = 5000


@dataclass(frozen=True)
class Move:
    """One status for one of our deliveries, as the processing hands it over."""

    channel_id: int
    provider_id: str
    status: str
    at: datetime
    error: SendError | None = None


def known_ids(moves: list[Move]) -> dict[tuple[int, str], int | None]:
    """Which (channel, wamid) pairs name a delivery we have, and its broadcast (None for a
    reply): one query per chunk."""
    wanted = list({m.provider_id for m in moves})
    found: dict[tuple[int, str], int | None] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = Delivery.objects.filter(wamid__in=wanted[start : start + CHUNK]).values_list(
            "channel_id", "wamid", "broadcast_id"
        )
        found.update(((channel_id, wamid), broadcast) for channel_id, wamid, broadcast in rows)
    return found


def apply_forward(moves: list[Move]) -> None:
    """sent / delivered / read for many deliveries, set-based, as if applied in timeline order."""
    by_status: dict[str, dict[tuple[int, str], datetime]] = {name: {} for name in FORWARD}
    for move in moves:
        key = (move.channel_id, move.provider_id)
        rows = by_status[move.status]
        # A repeated status keeps its earliest time.
        if key not in rows or move.at < rows[key]:
            rows[key] = move.at
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, one new row version per delivery however many of its statuses
            # the batch holds (a backlog holds sent, delivered and read of each message).
            keys = list(dict.fromkeys(k for name in FORWARD for k in by_status[name]))
            for start in range(0, len(keys), CHUNK):
                _forward_at_once(cursor, by_status, keys[start : start + CHUNK])
            return
        for name in FORWARD:
            rows = [(channel_id, wamid, at) for (channel_id, wamid), at in by_status[name].items()]
            _forward_one_status(cursor, name, rows)


def _applies(name: str) -> str:
    """Whether this delivery takes the status `name` of its VALUES row (NULL: not in it).

    Tested against the row as it was, before any of the batch's earlier statuses: that is
    the same as applying them in turn because each status's states to move from hold every
    earlier status and the states it moves from (tests/webhooks/test_forward_at_once.py)."""
    allowed = ", ".join(f"'{state}'" for state in MOVES_FROM[name])
    return f"(v.at_{name} IS NOT NULL AND d.status IN ({allowed}))"


# Delivered/read also prove it was sent: a missing sent_at takes their time, so stats never
# count a read message as unsent.
_SET_AT_ONCE = ", ".join(
    [
        "status = CASE "
        + " ".join(f"WHEN {_applies(name)} THEN '{name}'" for name in reversed(FORWARD))
        + " ELSE d.status END",
        "sent_at = COALESCE("
        + ", ".join(
            [f"CASE WHEN {_applies('sent')} THEN v.at_sent ELSE d.sent_at END"]
            + [f"CASE WHEN {_applies(name)} THEN v.at_{name} END" for name in FORWARD[1:]]
        )
        + ")",
        *(
            f"{STAMP[name]} = CASE WHEN {_applies(name)} THEN v.at_{name} ELSE d.{STAMP[name]} END"
            for name in FORWARD[1:]
        ),
    ]
)
_AT_ONCE = (
    f"UPDATE broadcasts_delivery AS d SET {_SET_AT_ONCE} "
    "FROM (VALUES {values}) AS v(channel_id, wamid, "
    + ", ".join(f"at_{name}" for name in FORWARD)
    + ") WHERE d.wamid = v.wamid AND d.channel_id = v.channel_id AND ("
    + " OR ".join(_applies(name) for name in FORWARD)
    + ")"
)


def _forward_at_once(cursor, by_status, keys: list[tuple[int, str]]) -> None:
    row = "(%s, %s" + ", %s::timestamptz" * len(FORWARD) + ")"
    params = []
    for key in keys:
        params += [*key, *(by_status[name].get(key) for name in FORWARD)]
    cursor.execute(_AT_ONCE.format(values=", ".join([row] * len(keys))), params)


def _forward_one_status(cursor, name: str, rows: list[tuple[int, str, datetime]]) -> None:
    """One status name for many deliveries; applied in timeline order, statement by
    statement, it is what the single PostgreSQL statement must amount to."""
    if not rows:
        return
    allowed = ", ".join(f"'{state}'" for state in MOVES_FROM[name])
    stamp = STAMP[name]
    # The right-hand side sees the row as it was, so the time comes twice.
    sent_too = ", sent_at = COALESCE(sent_at, %s)" if name != "sent" else ""
    sql = (
        f"UPDATE broadcasts_delivery SET status = '{name}', {stamp} = %s{sent_too} "
        f"WHERE wamid = %s AND channel_id = %s AND status IN ({allowed})"
    )
    if name == "sent":
        cursor.executemany(sql, [(at, wamid, channel_id) for channel_id, wamid, at in rows])
    else:
        cursor.executemany(sql, [(at, at, wamid, channel_id) for channel_id, wamid, at in rows])


def apply_failure(channel: Channel, move: Move) -> None:
    """The provider took the message, then could not deliver it: retry, or fail for good
    and let the verdict decide what that means for the citizen or the channel."""
    error = move.error or SendError(0, "failed", RETRY)
    movable = Delivery.objects.filter(
        channel_id=move.channel_id, wamid=move.provider_id, status__in=MOVES_FROM["failed"]
    )
    delivery = movable.only("id", "created_at", "attempts", "kind", "free", "broadcast_id").first()
    if delivery is None:
        return
    now = timezone.now()
    fields = {"error_code": error.code, "error_title": error.title[:300]}
    if outcomes.window_closed_on_free_text(delivery.kind, delivery.free, error):
        # Not delivered, not paid, no place in the messaging limit: it goes again at once as
        # the template, and counts from that send.
        moved = movable.filter(pk=delivery.pk).update(
            status=S.QUEUED, wamid=None, claimed_by="", next_attempt_at=None, sent_at=None,
            window_closed=True, free=False, **fields,
        )  # fmt: skip
        if moved:
            # The report may come after its broadcast's last write-back marked it sent: it
            # is sending again until this one has gone (finish-broadcasts closes it again).
            Broadcast.objects.filter(pk=delivery.broadcast_id, status=Broadcast.Status.SENT).update(
                status=Broadcast.Status.SENDING, finished_at=None
            )
        return
    retry = outcomes.requeue_at(error, delivery.created_at, delivery.attempts, now)
    if retry is not None:
        # Sent again later as a new message (a new wamid); the dispatcher re-checks at claim
        # time that the citizen is still subscribed.
        moved = movable.filter(pk=delivery.pk).update(
            status=S.QUEUED, wamid=None, claimed_by="", next_attempt_at=retry, **fields
        )
    else:
        moved = movable.filter(pk=delivery.pk).update(status=S.FAILED, failed_at=move.at, **fields)
    # As in the dispatcher's write-back: a template paused after it was accepted pauses the
    # channel (the delivery waits), a number found unreachable is marked so, and so on.
    if moved and error.verdict.action != Action.RETRY:
        outcomes.follow_up(channel, [(delivery.pk, error)])
