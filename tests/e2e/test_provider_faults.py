"""Provider outages, bad credentials and killed workers lose nothing (real processes)."""

import io
import os
import signal

import pytest
from django.core.management import call_command

from banditore.broadcasts.models import Broadcast
from banditore.channels.models import Channel
from banditore.core.models import AuditEvent
from banditore.subscribers.models import Subscriber
from tests import processes
from tests.e2e.conftest import Phone, inject_fault

pytestmark = pytest.mark.django_db(transaction=True)


def add_subscribers(comune, n: int) -> list[str]:
    numbers = [f"+39333300{i:04d}" for i in range(n)]
    Subscriber.objects.bulk_create(
        Subscriber(organization=comune, phone=p, status="active") for p in numbers
    )
    return numbers


def send(text: str) -> Broadcast:
    call_command("broadcast", "send", "--text", text, stdout=io.StringIO())
    return Broadcast.objects.latest("id")


def drained(broadcast: Broadcast) -> bool:
    return not broadcast.deliveries.filter(status__in=["queued", "sending"]).exists()


def test_5xx_and_dropped_connections_are_retried_until_sent(comune, running):
    numbers = add_subscribers(comune, 6)
    inject_fault(running, kind="http", status=500, count=3, path_contains="/messages")
    inject_fault(running, kind="drop", count=2, path_contains="/messages")
    broadcast = send("Interruzione idrica in via Roma")
    processes.wait_for(lambda: drained(broadcast), timeout=40, what="retries to drain")
    assert broadcast.deliveries.filter(status__in=["sent", "delivered", "read"]).count() == 6
    assert broadcast.deliveries.filter(attempts__gt=1).count() >= 1
    for number in numbers:
        assert Phone(running, number).received(), f"{number} got nothing"


def test_a_bad_token_pauses_the_channel_and_loses_nothing(comune, running):
    add_subscribers(comune, 4)
    inject_fault(running, kind="error", code=190, count=1, path_contains="/messages")
    broadcast = send("Avviso")
    channel = Channel.objects.get()
    processes.wait_for(
        lambda: Channel.objects.get(pk=channel.pk).status == "paused", what="the pause"
    )
    channel.refresh_from_db()
    assert "190" in channel.paused_reason
    assert AuditEvent.objects.filter(action="channel.paused").exists()
    assert not broadcast.deliveries.filter(status="failed").exists()

    # The operator fixes the token and resumes: everything still goes out.
    Channel.objects.filter(pk=channel.pk).update(status="active", paused_reason="")
    processes.wait_for(lambda: drained(broadcast), timeout=30, what="the resumed send")
    assert broadcast.deliveries.exclude(status="failed").count() == 4


def test_a_killed_worker_is_replaced_and_nobody_is_missed(comune, sandbox_url):
    """kill -9 mid-broadcast; a second worker takes the channel when the lease expires."""
    numbers = add_subscribers(comune, 40)
    Channel.objects.update(rate_per_second=10)
    os.environ["DISPATCH_LEASE_SECONDS"] = "2"
    try:
        broadcast = send("Allerta arancione")
        with processes.worker() as first:
            processes.wait_for(
                lambda: broadcast.deliveries.filter(
                    status__in=["sent", "delivered", "read"]
                ).exists(),
                what="the first sends",
            )
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        half_done = broadcast.deliveries.filter(status="queued").count()
        assert half_done > 0, "the first worker finished before it could be killed"
        with processes.worker():
            processes.wait_for(lambda: drained(broadcast), timeout=40, what="the takeover")
    finally:
        del os.environ["DISPATCH_LEASE_SECONDS"]
    assert broadcast.deliveries.exclude(status="failed").count() == 40
    received = {n: len(Phone(sandbox_url, n).received()) for n in numbers}
    assert all(count >= 1 for count in received.values())
    # At-least-once: only what was in flight at the kill may arrive twice.
    assert sum(received.values()) - 40 <= 10
