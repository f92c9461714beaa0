"""What a provider's verdict means for a delivery and for the rest of the world.

Written once, used by the dispatcher's write-back (the provider refused a send) and by the
status webhooks (the provider accepted it, then reported it failed).

The retry policy is a time budget, as GOV.UK Notify's (about four hours of retries), not a
count: exponential backoff with jitter, capped at five minutes, until the delivery is older
than the budget. Provider outages (5xx, network) are absorbed by the channel's circuit
breaker, so they retry soon and cheaply instead of pushing every delivery's backoff out.
"""

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings

from banditore.channels.base import Action, SendError
from banditore.channels.models import Channel
from banditore.core.models import audit

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` sends: 2, 4, 8 … 300, with jitter."""
    return min(MAX_BACKOFF, 2.0 ** max(attempts, 1)) * random.uniform(0.75, 1.0)


def requeue_at(
    error: SendError, created_at: datetime, attempts: int, now: datetime
) -> datetime | None:
    """When to try a failed send again, or None: it has failed for good."""
    verdict = error.verdict
    if verdict.action == Action.STOP_CHANNEL:
        # Not this message's fault: it waits until an operator resumes the channel.
        return now
    if verdict.action != Action.RETRY:
        return None
    if verdict.retry_after is not None:
        delay = verdict.retry_after
    elif verdict.provider_trouble:
        delay = random.uniform(1.0, 3.0)  # the circuit breaker does the waiting
    else:
        delay = backoff(attempts)
    when = now + timedelta(seconds=delay)
    if when > created_at + timedelta(seconds=settings.DISPATCH_RETRY_BUDGET_SECONDS):
        return None
    return when


def window_closed_on_free_text(kind: str, free: bool, error: SendError) -> bool:
    """Free text to a citizen whose window the provider found closed (WhatsApp 131047): the
    claim's margin guessed wrong, or the provider's clock disagrees. For a broadcast that is
    not a failure: it goes again at once, as the template (window_closed). A reply has no
    template to fall back on: it fails, as the verdict says."""
    return bool(free) and kind == "broadcast" and error.verdict.action == Action.WAIT_FOR_WINDOW


def follow_up(channel: Channel, failures: list[tuple[int, SendError]]) -> None:
    """After the provider's verdicts: opt citizens out, mark numbers unreachable, or pause
    the channel, as each verdict says. Call inside the transaction that records them."""
    from banditore.broadcasts.models import Delivery
    from banditore.subscribers import service
    from banditore.subscribers.contacts import Address
    from banditore.subscribers.models import ConsentEvent, Subscriber

    by_action: dict[Action, list[int]] = {}
    stop = None
    for delivery_id, error in failures:
        action = error.verdict.action
        by_action.setdefault(action, []).append(delivery_id)
        if action == Action.STOP_CHANNEL:
            stop = error
    org = channel.organization
    provider = ConsentEvent.Source.PROVIDER
    if ids := by_action.get(Action.OPTED_OUT):
        codes = {e.code for i, e in failures if i in set(ids)}
        # The address the provider refused, on this channel's kind (a number, a chat).
        refused = Delivery.objects.filter(id__in=ids, subscriber__in=_active(Subscriber, ids))
        for recipient in set(refused.exclude(recipient="").values_list("recipient", flat=True)):
            service.unsubscribe(
                org,
                Address(channel.kind, recipient),
                source=provider,
                evidence={"error": sorted(codes)},
            )
    if ids := by_action.get(Action.RECIPIENT_PERMANENT):
        codes = {e.code for i, e in failures if i in set(ids)}
        subscriber_ids = list(_active(Subscriber, ids).values_list("id", flat=True))
        if subscriber_ids:
            service.mark_unreachable(
                org, subscriber_ids, source=provider, evidence={"error": sorted(codes)}
            )
    if stop is not None:
        pause_channel(channel.pk, f"({stop.code}) {stop.title}")


def _active(Subscriber, delivery_ids: list[int]):
    return Subscriber.objects.filter(
        deliveries__id__in=delivery_ids, status=Subscriber.Status.ACTIVE
    ).distinct()


def pause_channel(channel_id: int, reason: str) -> None:
    """Stop all sending on a channel until an operator resumes it, and say why."""
    channel = Channel.objects.select_related("organization").get(pk=channel_id)
    paused = Channel.objects.filter(pk=channel_id, status=Channel.Status.ACTIVE).update(
        status=Channel.Status.PAUSED, paused_reason=reason[:2000]
    )
    if paused:
        log.error("channel %s paused: %s", channel_id, reason)
        audit(channel.organization, "channel.paused", str(channel), reason=reason)
