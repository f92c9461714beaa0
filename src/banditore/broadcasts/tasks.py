"""Broadcast housekeeping run as periodic tasks."""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from banditore.broadcasts import lifecycle
from banditore.broadcasts.models import Broadcast

# Receipts keep arriving for a while after a broadcast's last send; its count of paid
# messages is written again until then.
BILLING_SETTLES = timedelta(days=2)


def record_billable_counts(now=None) -> int:
    now = now or timezone.now()
    recent = Broadcast.objects.filter(
        status=Broadcast.Status.SENT, finished_at__gte=now - BILLING_SETTLES
    )
    count = 0
    for broadcast in recent.iterator():
        lifecycle.record_billable(broadcast)
        count += 1
    return count


@task()
def record_billable() -> int:
    return record_billable_counts()
