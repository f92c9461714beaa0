"""Applying a batch of stored webhook events: items, not Meta's JSON; poison set aside.

Per batch: parse each event with its channel kind's reader, route each item to its channel,
apply the citizens' messages first (in each sender's own time order), then every status of
the batch set-based. An item that can't be applied is recorded as a WebhookItemFailure and
skipped; its siblings are applied. Transient database trouble is raised to the caller,
which retries the events later (see tasks.py).
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone, translation

from banditore.channels import template_sync
from banditore.channels.base import (
    MalformedWebhook,
    MessageItem,
    StatusItem,
    StopItem,
    TemplateItem,
)
from banditore.channels.models import Channel
from banditore.webhooks import statuses
from banditore.webhooks.inbound import apply_message, apply_stop
from banditore.webhooks.models import WebhookEvent, WebhookItemFailure
from banditore.webhooks.routing import Router, kind_of

log = logging.getLogger(__name__)

# Lock timeouts, deadlocks, serialization failures, "database is locked", a lost connection:
# worth another try a little later. Anything else would fail the same way again.
TRANSIENT = (OperationalError, InterfaceError)
# A status that names an unknown wamid is retried this long (its send's write-back lags).
UNKNOWN_WAMID_PATIENCE = timedelta(minutes=10)
# The citizen's clock may run a little ahead of ours; beyond that, their time is not believed
# (a command "from the future" would make every real later one look older).
CLOCK_SKEW = timedelta(minutes=5)
# What our columns can hold: Delivery.wamid and InboundMessage.wamid, error_code (int4).
MAX_ID = 128
INT4 = 2**31


class Dead(Exception):
    """The event can't be applied at all (its body doesn't parse): a dead letter at once."""


@dataclass
class Outcome:
    event: WebhookEvent
    unknown: int = 0
    set_aside: list[WebhookItemFailure] = field(default_factory=list)
    dead: str = ""


def apply_batch(events: list[WebhookEvent], router: Router) -> list[Outcome]:
    """Apply the events inside the caller's transaction and record each one's outcome."""
    # Replies speak the installation's language, whatever the thread last served.
    with translation.override(settings.LANGUAGE_CODE):
        outcomes = _apply(events, router)
    _record(outcomes)
    return outcomes


def _apply(events: list[WebhookEvent], router: Router) -> list[Outcome]:
    results = {event.pk: Outcome(event) for event in events}
    conversation = []  # (channel, item, when, event)
    moves = []  # (event, Move)
    templates = []  # (event, TemplateItem)
    for event in events:
        outcome = results[event.pk]
        try:
            items = kind_of(event.channel).webhooks.parse(event.body.encode("utf-8"))
        except (MalformedWebhook, UnicodeEncodeError) as exc:
            outcome.dead = f"unreadable body: {exc}"[:2000]
            log.warning(
                "webhook event %s is a dead letter: its body can't be read",
                event.pk,
                extra={"event_id": event.pk, "channel_id": event.channel_id},
            )
            continue
        for item in items:
            if isinstance(item, TemplateItem):
                templates.append((event, item))
                continue
            channel = router.channel_for(event.channel, item.account)
            problem = _unstorable(item) or (
                None if channel else f"no channel with account {item.account!r} for this sender"
            )
            if problem:
                outcome.set_aside.append(_failure(event, item, problem))
                continue
            when = _moment(item.at, event.received_at)
            if isinstance(item, StatusItem):
                moves.append(
                    (
                        event,
                        statuses.Move(channel.pk, item.provider_id, item.status, when, item.error),
                    )
                )
            else:
                conversation.append((channel, item, when, event))

    # Conversation first, each sender's commands in their own time order: ISCRIVIMI then
    # CANCELLAMI is applied in that order whichever webhook arrived first.
    conversation.sort(key=lambda c: (c[0].pk, c[1].sender, c[2], c[3].pk))
    for channel, item, when, event in conversation:
        _guarded(
            results[event.pk],
            event,
            item,
            lambda c=channel, i=item, w=when: _converse(c, i, w),
            channel.pk,
        )

    _apply_statuses(moves, results)
    for event, item in templates:
        channels = router.template_channels(event.channel, item.account)
        _guarded(
            results[event.pk],
            event,
            item,
            lambda c=channels, i=item: template_sync.apply_change(c, i),
            event.channel_id,
        )
    return list(results.values())


def _converse(channel: Channel, item, when: datetime) -> None:
    if isinstance(item, MessageItem):
        apply_message(channel, item, when)
    elif isinstance(item, StopItem):
        apply_stop(channel, item, when)


def _apply_statuses(moves, results) -> None:
    if not moves:
        return
    known = statuses.known_ids([move for _, move in moves])
    unknown = Counter()
    forward, failed = [], []
    for event, move in moves:
        if (move.channel_id, move.provider_id) not in known:
            unknown[event.pk] += 1
        elif move.status == "failed":
            failed.append((event, move))
        else:
            forward.append((event, move))
    for event_id, count in unknown.items():
        results[event_id].unknown = count
    try:
        with transaction.atomic():
            statuses.apply_forward([move for _, move in forward])
    except TRANSIENT:
        raise
    except Exception:
        # Something in the batch can't be written: find it, one by one, and set it aside.
        log.exception(
            "set-based update of %d statuses failed; applying them one by one",
            len(forward),
            extra=_ids_of([event for event, _ in forward], [move for _, move in forward], known),
        )
        for event, move in forward:
            _guarded(
                results[event.pk],
                event,
                move,
                lambda m=move: statuses.apply_forward([m]),
                move.channel_id,
                known.get((move.channel_id, move.provider_id)),
            )
    channels = {}
    for event, move in failed:
        channel = channels.get(move.channel_id) or Channel.objects.select_related(
            "organization"
        ).get(pk=move.channel_id)
        channels[move.channel_id] = channel
        _guarded(
            results[event.pk],
            event,
            move,
            lambda c=channel, m=move: statuses.apply_failure(c, m),
            move.channel_id,
            known.get((move.channel_id, move.provider_id)),
        )


def _ids_of(events: list[WebhookEvent], moves: list[statuses.Move], known) -> dict:
    """The log fields naming what a batch's failed statement was about."""
    broadcasts = {known.get((m.channel_id, m.provider_id)) for m in moves} - {None}
    return {
        "event_ids": sorted({event.pk for event in events}),
        "channel_ids": sorted({move.channel_id for move in moves}),
        "broadcast_ids": sorted(broadcasts),
    }


def _guarded(
    outcome: Outcome,
    event: WebhookEvent,
    item,
    apply,
    channel_id: int,
    broadcast_id: int | None = None,
) -> None:
    """Apply one item in its own savepoint: if it fails, only it is set aside."""
    try:
        with transaction.atomic():
            apply()
    except TRANSIENT:
        raise
    except Exception as exc:
        ids = {"event_id": event.pk, "channel_id": channel_id}
        if broadcast_id is not None:
            ids["broadcast_id"] = broadcast_id
        log.warning(
            "webhook event %s on channel %s: item set aside: %r",
            event.pk,
            channel_id,
            exc,
            extra=ids,
        )
        outcome.set_aside.append(_failure(event, item, repr(exc)))


def _moment(at: datetime | None, received_at: datetime) -> datetime:
    """The citizen's (or provider's) time; the time we received it if that's missing or
    unbelievable. Never the epoch, never the time this worker happens to apply it."""
    if at is None or at > received_at + CLOCK_SKEW:
        return received_at
    return at


def _unstorable(item) -> str | None:
    ids = [getattr(item, "provider_id", ""), getattr(item, "sender", "")]
    for value in ids:
        if len(value) > MAX_ID:
            return f"id longer than {MAX_ID} characters"
        if not _clean(value):
            return "id holds a NUL or an unpaired surrogate"
    error = getattr(item, "error", None)
    if error is not None and not -INT4 <= error.code < INT4:
        return f"error code out of range: {error.code}"
    return None


def _clean(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _failure(event: WebhookEvent, item, error: str) -> WebhookItemFailure:
    kind = {
        StatusItem: "status",
        MessageItem: "message",
        StopItem: "stop",
        TemplateItem: "template",
    }.get(type(item), "status")
    reference = getattr(item, "provider_id", "") or getattr(item, "sender", "")
    # repr() escapes NUL and surrogates, so the record itself is always storable.
    return WebhookItemFailure(
        event=event,
        kind=kind,
        reference=ascii(reference)[1:-1][:MAX_ID],
        error=ascii(error)[1:-1][:2000],
        item=ascii(item)[:4000],
    )


def _record(outcomes: list[Outcome]) -> None:
    now = timezone.now()
    processed = []
    retried = [o.event.pk for o in outcomes if o.event.attempts or o.event.failures]
    if retried:
        # Applied again: its set-aside items are recorded afresh below.
        WebhookItemFailure.objects.filter(event_id__in=retried).delete()
    failures = [f for o in outcomes for f in o.set_aside]
    if failures:
        WebhookItemFailure.objects.bulk_create(failures)
    for outcome in outcomes:
        event = outcome.event
        if outcome.dead:
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=WebhookEvent.Status.DEAD, error=outcome.dead, processed_at=now
            )
        elif outcome.unknown and now - event.received_at < UNKNOWN_WAMID_PATIENCE:
            attempts = event.attempts + 1
            WebhookEvent.objects.filter(pk=event.pk).update(
                attempts=attempts, not_before=now + timedelta(seconds=min(2**attempts, 60))
            )
        elif outcome.unknown or outcome.set_aside:
            notes = []
            if outcome.unknown:
                notes.append(f"{outcome.unknown} statuses for unknown messages")
            if outcome.set_aside:
                notes.append(f"{len(outcome.set_aside)} items set aside")
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=WebhookEvent.Status.PROCESSED, processed_at=now, error="; ".join(notes)
            )
        else:
            processed.append(event.pk)
    if processed:
        WebhookEvent.objects.filter(pk__in=processed).update(
            status=WebhookEvent.Status.PROCESSED, processed_at=now
        )
