"""A send whose starter dies between chunks (a web request killed past its timeout, a CLI
interrupted) loses nobody: a real `banditore worker` queues the rest of the audience."""

import pytest

from banditore.broadcasts import audience
from banditore.broadcasts.models import Broadcast
from tests import processes
from tests.factories import channel_of, make_comune, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_queues_the_rest_of_an_audience_whose_starter_died(monkeypatch):
    with processes.sandbox() as sandbox_url:
        org = make_comune(base_url=sandbox_url)
        first = audience.FIRST_CHUNK * audience.lanes()  # a first chunk per lane
        total = first + 7
        for i in range(total):
            subscribe(org, f"+39333444{i:04d}")
        b = Broadcast.objects.create(organization=org, channel=channel_of(org), text="Avviso")
        # The starter dies right after its commit: what would queue the other chunks never
        # runs (in this process only; the worker below is another).
        monkeypatch.setattr(audience, "materialise", lambda broadcast_id: None)
        assert audience.start(b) == first
        b.refresh_from_db()
        assert not b.audience_complete

        with processes.worker():
            processes.wait_for(
                lambda: Broadcast.objects.filter(pk=b.pk, audience_complete=True).exists(),
                timeout=30,
                what="the rest of the audience queued",
            )
        b.refresh_from_db()
        assert b.audience_size == total == b.recipients.count()
        assert b.recipients.values("subscriber_id").distinct().count() == total
