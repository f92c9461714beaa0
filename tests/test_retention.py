"""The retention rules, applied by the daily purge, once per day whatever the worker count."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from banditore.core import periodic
from banditore.core.models import PeriodicJob
from banditore.subscribers import privacy, service
from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import InboundMessage
from tests.chat import write
from tests.factories import channel_of, subscribe, web_signup

DAY = timedelta(days=1)


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def test_unconfirmed_web_sign_ups_expire(comune):
    web_signup(comune, "+393331110001")
    assert privacy.purge_expired(timezone.now() + 6 * DAY)["signups"] == 0
    assert privacy.purge_expired(timezone.now() + 8 * DAY)["signups"] == 1
    assert not Subscriber.objects.exists()
    assert ConsentEvent.objects.filter(action="erase", source="system").exists()


def test_old_opt_outs_are_erased_after_the_grace_period(comune):
    subscribe(comune, "+393331110001")
    service.unsubscribe(comune, "+393331110001", source="whatsapp", evidence={})
    assert privacy.purge_expired(timezone.now() + 10 * DAY)["unsubscribed"] == 0
    assert privacy.purge_expired(timezone.now() + 31 * DAY)["unsubscribed"] == 1


def test_citizens_messages_have_a_short_retention(channel):
    write(channel, "+393331110001", "una segnalazione con dati personali")
    assert privacy.purge_expired(timezone.now() + 29 * DAY)["inbound"] == 0
    assert privacy.purge_expired(timezone.now() + 31 * DAY)["inbound"] == 1
    assert not InboundMessage.objects.exists()


def test_pseudonymous_proof_is_purged_after_the_comunes_period(comune):
    subscribe(comune, "+393331110001")
    privacy.erase(comune, "+393331110001", actor_label="ufficio")
    assert privacy.purge_expired(timezone.now() + 700 * DAY)["proof"] == 0
    assert privacy.purge_expired(timezone.now() + 731 * DAY)["proof"] == 2
    assert not ConsentEvent.objects.exists()


def test_active_subscribers_keep_their_proof(comune):
    subscribe(comune, "+393331110001")
    privacy.purge_expired(timezone.now() + 2000 * DAY)
    assert ConsentEvent.objects.count() == 1


def test_a_periodic_job_is_enqueued_once_per_period_by_many_workers(db):
    now = timezone.now()
    first = periodic.run_due(now)
    second = periodic.run_due(now)  # another worker ticking at the same moment
    hourly = ["purge_task_results", "purge_idempotency_keys", "record_billable", "sync_templates"]
    assert first == ["purge_expired", *hourly] and second == []
    assert periodic.run_due(now + timedelta(minutes=10)) == []
    assert periodic.run_due(now + timedelta(hours=23)) == hourly
    assert periodic.run_due(now + timedelta(hours=25)) == ["purge_expired", *hourly]
    daily = PeriodicJob.objects.get(name="purge_expired")
    assert daily.next_run_at > now + timedelta(hours=25)


def test_finished_task_results_are_purged_after_a_week(db):
    from banditore.core.tasks import purge_finished
    from banditore.webhooks.tasks import apply_webhooks

    old = apply_webhooks.enqueue()
    waiting = apply_webhooks.enqueue()
    DBTaskResult.objects.filter(id=old.id).update(
        status="SUCCESSFUL", finished_at=timezone.now() - 8 * DAY
    )
    assert purge_finished() == 1
    assert [str(i) for i in DBTaskResult.objects.values_list("id", flat=True)] == [waiting.id]
