"""Housekeeping of the task queue itself."""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

# Webhook batches alone enqueue a task many times a minute: finished ones are kept long
# enough to look into a failure, then go.
KEEP_FINISHED = timedelta(days=7)


def purge_finished(now=None) -> int:
    now = now or timezone.now()
    deleted, _ = DBTaskResult.objects.filter(
        finished_at__lt=now - KEEP_FINISHED, status__in=["SUCCESSFUL", "FAILED"]
    ).delete()
    return deleted


@task()
def purge_task_results() -> int:
    return purge_finished()
