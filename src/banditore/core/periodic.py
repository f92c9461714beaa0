"""Periodic control-plane jobs, safe with any number of workers.

Each job has one PeriodicJob row. A worker that finds it due moves `next_run_at` forward
with a conditional UPDATE; only the worker whose UPDATE changed the row enqueues the task,
so a job runs once per period however many workers tick.
"""

from datetime import timedelta

from django.utils import timezone

from banditore.core.models import PeriodicJob


def _jobs():
    from banditore.api.tasks import purge_idempotency_keys
    from banditore.broadcasts.tasks import record_billable
    from banditore.channels.tasks import sync_templates
    from banditore.core.tasks import purge_task_results
    from banditore.subscribers.tasks import purge_expired

    return {
        "purge_expired": (timedelta(hours=24), purge_expired),
        "purge_task_results": (timedelta(hours=1), purge_task_results),
        "purge_idempotency_keys": (timedelta(hours=1), purge_idempotency_keys),
        "record_billable": (timedelta(minutes=15), record_billable),
        "sync_templates": (timedelta(hours=1), sync_templates),
    }


def run_due(now=None) -> list[str]:
    """Enqueue every job whose time has come; return the names enqueued by this caller."""
    now = now or timezone.now()
    started = []
    for name, (every, task) in _jobs().items():
        # get_or_create survives a race with another worker creating the same row.
        PeriodicJob.objects.get_or_create(name=name, defaults={"next_run_at": now})
        won = PeriodicJob.objects.filter(name=name, next_run_at__lte=now).update(
            next_run_at=now + every, last_run_at=now
        )
        if won:
            task.enqueue()
            started.append(name)
    return started
