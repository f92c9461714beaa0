"""Status webhooks move deliveries forward: sent < delivered < read; failed only before that.

Webhooks repeat and arrive out of order, so each update names the states it may move from:
applying the same status twice, or an older one after a newer, changes nothing.
"""

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from banditore.broadcasts.models import Delivery
from banditore.channels.models import Channel
from banditore.channels.whatsapp.errors import Action, classify
from banditore.channels.whatsapp.payloads import Status, moment
from banditore.dispatch.outcomes import OPTED_OUT, mark_unreachable, opt_out, pause_channel

S = Delivery.Status
# For each incoming status: the states a delivery may be in for it to apply.
MOVES_FROM = {
    "sent": (S.QUEUED, S.SENDING),
    "delivered": (S.QUEUED, S.SENDING, S.SENT, S.FAILED),
    "read": (S.QUEUED, S.SENDING, S.SENT, S.DELIVERED, S.FAILED),
    "failed": (S.QUEUED, S.SENDING, S.SENT),
}
STAMP = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}
MAX_ATTEMPTS = 6


def apply_statuses(channel: Channel, statuses: list[Status]) -> int:
    """Apply a batch of statuses; return how many named a wamid we don't know (yet)."""
    relevant = [s for s in statuses if s.status in MOVES_FROM]  # 'played' etc.: nothing to move
    known = set(
        Delivery.objects.filter(channel=channel, wamid__in={s.id for s in relevant}).values_list(
            "wamid", flat=True
        )
    )
    unknown = sum(1 for s in relevant if s.id not in known)
    progress: dict[str, list] = {"sent": [], "delivered": [], "read": []}
    for status in relevant:
        if status.id not in known:
            continue
        when = moment(status.timestamp)
        if status.status == "failed":
            deliveries = Delivery.objects.filter(channel=channel, wamid=status.id)
            _apply_failure(channel, deliveries, status, when)
        else:
            row = [when, channel.pk, status.id]
            progress[status.status].append(row if status.status == "sent" else [when, *row])
    # In timeline order, so a batch holding sent, delivered and read ends at read.
    with connection.cursor() as cursor:
        for name, rows in progress.items():
            if rows:
                cursor.executemany(_forward_sql(name), rows)
    return unknown


def _forward_sql(name: str) -> str:
    """One status forward for many wamids. Delivered/read also prove it was sent: a missing
    sent_at takes their time, so stats never count a read message as unsent."""
    allowed = ", ".join(f"'{state}'" for state in MOVES_FROM[name])
    stamp = STAMP[name]
    # The right-hand side sees the row as it was, so the time comes as a parameter again.
    sent_too = ", sent_at = COALESCE(sent_at, %s)" if name != "sent" else ""
    return (
        f"UPDATE broadcasts_delivery SET status = '{name}', {stamp} = %s{sent_too} "
        f"WHERE channel_id = %s AND wamid = %s AND status IN ({allowed})"
    )


def _apply_failure(channel, deliveries, status: Status, when: datetime) -> None:
    error = status.errors[0] if status.errors else None
    code = error.code if error else 0
    title = (error.title or error.message)[:300] if error else "failed"
    movable = deliveries.filter(status__in=MOVES_FROM["failed"])
    verdict = classify(code)
    if verdict.action == Action.RETRY:
        # Send again later as a new message (a new wamid), within the attempt budget.
        delay = verdict.retry_after or 60.0
        retried = movable.filter(attempts__lt=MAX_ATTEMPTS).update(
            status=S.QUEUED,
            wamid=None,
            claimed_by="",
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            error_code=code,
            error_title=title,
        )
        if retried:
            return
    delivery_ids = list(movable.values_list("id", flat=True))
    Delivery.objects.filter(id__in=delivery_ids).update(
        status=S.FAILED, failed_at=when, error_code=code, error_title=title
    )
    if code == OPTED_OUT:
        opt_out(delivery_ids, channel)
    elif verdict.action == Action.RECIPIENT_PERMANENT:
        mark_unreachable(delivery_ids)
    elif verdict.action == Action.STOP_CHANNEL:
        pause_channel(channel.id, f"({code}) {title}")
