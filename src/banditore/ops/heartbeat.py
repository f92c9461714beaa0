"""Worker heartbeats: one row per worker process, touched at the end of every tick."""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from banditore.ops.models import WorkerHeartbeat

# The worker's tick runs every 2 s; a lease lives DISPATCH_LEASE_SECONDS. A worker is
# taken for alive while its last beat is younger than three of the longer of the two.
TICK_SECONDS = 2.0
# Rows of workers gone for this long are deleted: restarts never pile up heartbeats.
FORGET_AFTER = timedelta(days=1)


def stale_after() -> timedelta:
    return timedelta(seconds=3 * max(TICK_SECONDS, settings.DISPATCH_LEASE_SECONDS))


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(worker: str | None = None, now=None) -> None:
    now = now or timezone.now()
    worker = worker or this_worker()
    if not WorkerHeartbeat.objects.filter(worker=worker).update(beat_at=now):
        WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"beat_at": now})
        # A new process: the moment to forget those that are long gone.
        WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()


def alive(now=None):
    """Heartbeats recent enough to count."""
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(beat_at__gte=now - stale_after())
