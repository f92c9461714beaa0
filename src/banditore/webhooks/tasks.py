"""Applying stored webhook events, as a Django task, in batches, each event exactly once.

A batch is applied in one transaction. If it fails, its events are applied again one by
one, each in its own transaction, so one poison event can't hold up the others: transient
trouble (locks, deadlocks, a lost connection) is retried with backoff, and an event that
keeps failing becomes a dead letter an operator sees and can `replay`.
"""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from banditore.channels.models import Channel
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.processing import TRANSIENT, apply_batch
from banditore.webhooks.routing import Router

log = logging.getLogger(__name__)
BATCH = 500
MAX_FAILURES = 5
MAX_BACKOFF = 60


def _pending():
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).exclude(
        not_before__gt=timezone.now()
    )


def apply_pending_events() -> int:
    """Apply every due pending event; return how many were taken up."""
    router = Router()
    done = 0
    while True:
        channel_of = {}  # event id -> the channel it arrived on, for the log lines
        try:
            with transaction.atomic():
                events = _claim_batch()
                channel_of = {event.pk: event.channel_id for event in events}
                if not events:
                    return done
                apply_batch(events, router)
        except Exception:
            if not channel_of:
                raise  # the claim itself failed: nothing to isolate (the task is retried)
            log.warning(
                "webhook batch of %d events failed; applying them one by one",
                len(channel_of),
                exc_info=True,
                extra={
                    "event_ids": list(channel_of),
                    "channel_ids": sorted(set(channel_of.values())),
                },
            )
            _one_by_one(channel_of, router)
        ids = list(channel_of)
        done += len(ids)
        if len(ids) < BATCH:
            return done


def _claim_batch() -> list[WebhookEvent]:
    pending = _pending()
    if connection.vendor == "postgresql":
        # Two workers may apply batches at once; each takes rows the other hasn't locked.
        pending = pending.select_for_update(skip_locked=True, of=("self",))
    # Citizens' messages first, ahead of any backlog of statuses (index webhook_pending_lane).
    return _with_channels(list(pending.order_by("-has_messages", "id")[:BATCH]))


def _one_by_one(channel_of: dict[int, int], router: Router) -> None:
    for event_id, channel_id in channel_of.items():
        try:
            with transaction.atomic():
                events = _claim_one(event_id)
                if events:
                    apply_batch(events, router)
        except Exception as exc:
            log.exception(
                "webhook event %s on channel %s failed",
                event_id,
                channel_id,
                extra={"event_id": event_id, "channel_id": channel_id},
            )
            _failed(event_id, exc)


def _claim_one(event_id: int) -> list[WebhookEvent]:
    pending = _pending().filter(pk=event_id)
    if connection.vendor == "postgresql":
        pending = pending.select_for_update(skip_locked=True, of=("self",))
    return _with_channels(list(pending))


def _with_channels(events: list[WebhookEvent]) -> list[WebhookEvent]:
    """Each event with the channel it arrived on, read once per batch: a batch's events
    mostly share one channel, and reading a channel decrypts its credentials, far dearer
    than the event itself (select_related would do it for every event)."""
    channels = Channel.objects.select_related("organization").in_bulk(
        {event.channel_id for event in events}
    )
    for event in events:
        event.channel = channels.get(event.channel_id)
    # As the join did: an event whose channel is being deleted goes with it.
    return [event for event in events if event.channel is not None]


def _failed(event_id: int, exc: Exception) -> None:
    """Try again later, or give up: a dead letter, with the error, for an operator."""
    if connection.needs_rollback or not connection.is_usable():
        connection.close()
    event = WebhookEvent.objects.filter(pk=event_id).only("failures").first()
    if event is None:
        return
    failures = event.failures + 1
    error = ascii(exc)[:2000]
    if isinstance(exc, TRANSIENT) and failures < MAX_FAILURES:
        delay = min(2**failures, MAX_BACKOFF)
        WebhookEvent.objects.filter(pk=event_id).update(
            failures=failures, error=error, not_before=timezone.now() + timedelta(seconds=delay)
        )
    else:
        WebhookEvent.objects.filter(pk=event_id).update(
            status=WebhookEvent.Status.DEAD, failures=failures, error=error
        )


def replay(event_ids) -> int:
    """Put dead (or old failed) events back in the queue, as if just received; return how
    many. Every application is idempotent, so a replay changes only what was missing."""
    with transaction.atomic():
        count = WebhookEvent.objects.filter(
            pk__in=list(event_ids),
            status__in=[WebhookEvent.Status.DEAD, WebhookEvent.Status.FAILED],
        ).update(
            status=WebhookEvent.Status.PENDING,
            failures=0,
            attempts=0,
            not_before=None,
            processed_at=None,
            error="",
        )
        if count:
            transaction.on_commit(schedule_apply)
    return count


@task()
def apply_webhooks() -> int:
    return apply_pending_events()


def schedule_due() -> None:
    """Enqueue the task if events are due (a lost task, or a retry whose time has come)."""
    if _pending().exists():
        schedule_apply()


def schedule_apply() -> None:
    """Enqueue the task unless one is already waiting: a burst of webhooks needs one run."""
    waiting = DBTaskResult.objects.filter(
        status="READY", task_path=apply_webhooks.module_path
    ).exists()
    if not waiting:
        apply_webhooks.enqueue()
