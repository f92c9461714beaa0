"""A real `banditore worker` process starts a scheduled broadcast at its time, through its
2-second tick, and the dispatcher sends it to the sandbox."""

import datetime as dt

import pytest
from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import AuditEvent
from tests import processes
from tests.factories import make_comune, subscribe
from tests.scheduling.helpers import scheduled

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_starts_it_within_seconds_of_its_time():
    with processes.sandbox() as sandbox_url:
        org = make_comune(base_url=sandbox_url)
        # No quiet hours: the test must not depend on the hour it runs at.
        org.send_window_start = org.send_window_end = dt.time(0, 0)
        org.save()
        subscribe(org, "+393331110001")
        subscribe(org, "+393331110002")
        at = timezone.now() + dt.timedelta(seconds=2)
        b = scheduled(org, at)
        sent = Delivery.objects.filter(broadcast=b, status__in=["sent", "delivered", "read"])
        with processes.worker():
            processes.wait_for(lambda: sent.count() == 2, timeout=30, what="both sent")
        b.refresh_from_db()
        assert b.status in (Broadcast.Status.SENDING, Broadcast.Status.SENT)
        assert at <= b.started_at < at + dt.timedelta(seconds=5)
        assert AuditEvent.objects.filter(action="broadcast.started").count() == 1
