"""The worker's tick enqueues the webhook task only when an event is due: not a task row
every two seconds on an idle installation."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.tasks import schedule_due
from tests.factories import channel_of


def test_nothing_due_enqueues_nothing(comune):
    later = timezone.now() + timedelta(minutes=5)
    WebhookEvent.objects.create(channel=channel_of(comune), body="{}", digest="a", not_before=later)
    schedule_due()
    schedule_due()
    assert not DBTaskResult.objects.exists()


def test_a_due_event_enqueues_one_task(comune):
    WebhookEvent.objects.create(channel=channel_of(comune), body="{}", digest="b")
    schedule_due()
    schedule_due()
    assert DBTaskResult.objects.count() == 1
