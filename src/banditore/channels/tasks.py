"""Channel housekeeping run as periodic tasks."""

from django_tasks import task

from banditore.channels import template_sync


@task()
def sync_templates() -> dict[int, str]:
    # Webhooks keep templates current between syncs; the sync catches what a lost webhook
    # missed and templates created in Meta's manager.
    return template_sync.sync_all()
