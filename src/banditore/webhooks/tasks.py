"""Applying stored webhook events, as a Django task, in batches, each event exactly once."""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from banditore.channels.whatsapp.payloads import Notification
from banditore.webhooks.inbound import apply_message, apply_preference
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.statuses import apply_statuses

log = logging.getLogger(__name__)
BATCH = 200
# A status that names an unknown wamid is retried this long (its send's write-back lags).
UNKNOWN_WAMID_PATIENCE = timedelta(minutes=10)


def apply_event(event: WebhookEvent) -> None:
    """Apply one event inside the caller's transaction."""
    # Replies speak the installation's language, whatever the thread last served.
    with translation.override(settings.LANGUAGE_CODE):
        _apply(event)


def _apply(event: WebhookEvent) -> None:
    notification = Notification.model_validate(json.loads(event.body))
    unknown = 0
    for entry in notification.entry:
        for change in entry.changes:
            value = change.value
            if change.field == "user_preferences":
                for preference in value.user_preferences:
                    apply_preference(event.channel, preference)
            if change.field != "messages":
                continue
            for message in value.messages:
                apply_message(event.channel, message)
            unknown += apply_statuses(event.channel, value.statuses)
    now = timezone.now()
    if unknown and now - event.received_at < UNKNOWN_WAMID_PATIENCE:
        event.attempts += 1
        event.not_before = now + timedelta(seconds=min(2**event.attempts, 60))
        event.save(update_fields=["attempts", "not_before"])
        return
    event.status = WebhookEvent.Status.PROCESSED
    event.processed_at = now
    if unknown:
        event.error = f"{unknown} statuses for unknown messages"
    event.save(update_fields=["status", "processed_at", "error"])


def _claim_batch():
    now = timezone.now()
    pending = WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).exclude(
        not_before__gt=now
    )
    if connection.vendor == "postgresql":
        # Two workers may apply batches at once; each takes rows the other hasn't locked.
        pending = pending.select_for_update(skip_locked=True, of=("self",))
    return list(pending.select_related("channel__organization").order_by("id")[:BATCH])


def apply_pending_events() -> int:
    """Apply every due pending event; return how many were applied."""
    done = 0
    while True:
        with transaction.atomic():
            events = _claim_batch()
            if not events:
                return done
            for event in events:
                try:
                    with transaction.atomic():
                        apply_event(event)
                except Exception as exc:  # one bad event must not block the others
                    log.exception("webhook event %s failed", event.pk)
                    WebhookEvent.objects.filter(pk=event.pk).update(
                        status=WebhookEvent.Status.FAILED, error=repr(exc)[:2000]
                    )
                done += 1
        if len(events) < BATCH:
            return done


@task()
def apply_webhooks() -> int:
    return apply_pending_events()


def schedule_apply() -> None:
    """Enqueue the task unless one is already waiting: a burst of webhooks needs one run."""
    waiting = DBTaskResult.objects.filter(
        status="READY", task_path=apply_webhooks.module_path
    ).exists()
    if not waiting:
        apply_webhooks.enqueue()
