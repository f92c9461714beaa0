"""Pausing, resuming and cancelling a broadcast that is sending: what the dispatcher obeys.

A paused broadcast's queued rows are *held*, out of the claim index (a million of them must
not be scanned at every claim), and queued again on resume; a cancel skips what is still
queued or held. Rows in flight finish as they are: the dispatcher also re-checks the
broadcast's status in the statement that claims each row, so nothing is claimed after the
pause or the cancel committed. The press office's full state machine (approval, schedule)
builds on these.
"""

from django.db import transaction
from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import audit
from banditore.dispatch import queries

B = Broadcast.Status
D = Delivery.Status


class NotAllowed(Exception):
    pass


def _change(broadcast_id: int, allowed: tuple, to: str, action: str, actor, label: str):
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast_id)
    if broadcast.status not in allowed:
        raise NotAllowed(f"broadcast {broadcast.pk} is {broadcast.status}: can't {action}")
    broadcast.status = to
    broadcast.save(update_fields=["status"])
    audit(
        broadcast.organization, f"broadcast.{action}", f"broadcast:{broadcast.pk}", actor=actor,
        label=label,
    )  # fmt: skip
    return broadcast


@transaction.atomic
def pause(broadcast: Broadcast, *, actor=None, label: str = "system") -> int:
    _change(broadcast.pk, (B.SENDING,), B.PAUSED, "paused", actor, label)
    return Delivery.objects.filter(broadcast_id=broadcast.pk, status=D.QUEUED).update(status=D.HELD)


@transaction.atomic
def resume(broadcast: Broadcast, *, actor=None, label: str = "system") -> int:
    _change(broadcast.pk, (B.PAUSED,), B.SENDING, "resumed", actor, label)
    held = Delivery.objects.filter(broadcast_id=broadcast.pk, status=D.HELD).update(status=D.QUEUED)
    queries.finish_broadcasts({broadcast.pk}, timezone.now())
    return held


@transaction.atomic
def cancel(broadcast: Broadcast, *, actor=None, label: str = "system") -> int:
    allowed = (B.DRAFT, B.APPROVED, B.SCHEDULED, B.SENDING, B.PAUSED)
    _change(broadcast.pk, allowed, B.CANCELLED, "cancelled", actor, label)
    now = timezone.now()
    Broadcast.objects.filter(pk=broadcast.pk).update(finished_at=now)
    return Delivery.objects.filter(broadcast_id=broadcast.pk, status__in=[D.QUEUED, D.HELD]).update(
        status=D.SKIPPED, skip_reason=Delivery.SkipReason.CANCELLED
    )
