"""The API's housekeeping, as a task for the periodic jobs."""

from django_tasks import task

from banditore.api import idempotency


@task()
def purge_idempotency_keys() -> int:
    """Responses kept for Idempotency-Key retries go after 24 hours."""
    return idempotency.purge()
