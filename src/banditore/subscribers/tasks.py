from django_tasks import task

from banditore.subscribers import privacy


@task()
def purge_expired() -> dict[str, int]:
    """Apply the retention rules (expired sign-ups, old opt-outs, old messages, old proof)."""
    return privacy.purge_expired()
