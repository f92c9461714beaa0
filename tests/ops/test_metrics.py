"""/metrics: who may read it, and series whose values match the rows behind them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.ops import heartbeat
from banditore.webhooks.models import WebhookEvent
from tests.factories import channel_of, subscribe

PHONE = "+393331112222"


def samples(response) -> dict[tuple, float]:
    """{(name, sorted labels): value} of a metrics page."""
    text = response.content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def delivery(comune, subscriber=None, age=0, **fields):
    d = Delivery.objects.create(
        organization=comune,
        channel=channel_of(comune),
        subscriber=subscriber,
        recipient=subscriber.phone if subscriber else "+393330000000",
        **fields,
    )
    if age:
        Delivery.objects.filter(pk=d.pk).update(created_at=timezone.now() - timedelta(seconds=age))
    return d


@pytest.fixture
def open_metrics(monkeypatch):
    monkeypatch.delenv("BANDITORE_METRICS_TOKEN", raising=False)
    monkeypatch.delenv("BANDITORE_METRICS_ALLOW_IPS", raising=False)


def test_only_loopback_reads_metrics_without_a_token(client, db, open_metrics):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.5").status_code == 403
    # Through a proxy on this machine the peer is loopback, but the client is not.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403


def test_a_token_opens_metrics_and_closes_loopback(client, db, open_metrics, monkeypatch):
    monkeypatch.setenv("BANDITORE_METRICS_TOKEN", "s3cret")
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = client.get("/metrics", REMOTE_ADDR="10.0.0.5", HTTP_AUTHORIZATION="Bearer s3cret")
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain")


def test_listed_addresses_read_metrics(client, db, open_metrics, monkeypatch):
    monkeypatch.setenv("BANDITORE_METRICS_ALLOW_IPS", "10.0.0.5, 10.0.0.6")
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.6").status_code == 200
    assert client.get("/metrics").status_code == 403


def test_queue_outcomes_and_broadcast_series_match_the_rows(client, comune, open_metrics):
    channel = str(channel_of(comune).pk)
    citizen = subscribe(comune, PHONE)
    now = timezone.now()
    broadcast = Broadcast.objects.create(
        organization=comune,
        channel=channel_of(comune),
        text="Allerta meteo",
        status=Broadcast.Status.SENDING,
        started_at=now - timedelta(seconds=100),
    )
    delivery(comune, citizen, age=120, priority=Priority.EMERGENCY)
    delivery(comune, age=30, priority=Priority.EMERGENCY)
    delivery(comune, age=5, priority=Priority.NORMAL, error_code=131049)
    delivery(
        comune,
        broadcast=broadcast,
        status=Delivery.Status.SENT,
        sent_at=now - timedelta(seconds=96),
    )
    delivery(comune, status=Delivery.Status.DELIVERED, sent_at=now - timedelta(seconds=10))
    delivery(comune, status=Delivery.Status.SENT, sent_at=now - timedelta(hours=2))  # too old
    delivery(comune, status=Delivery.Status.FAILED, failed_at=now, error_code=131026)
    delivery(comune, status=Delivery.Status.FAILED, failed_at=now, error_code=131026)
    delivery(comune, status=Delivery.Status.SENDING)

    response = client.get("/metrics")
    assert response.status_code == 200
    got = samples(response)
    emergency = (("channel", channel), ("lane", "emergency"))
    normal = (("channel", channel), ("lane", "normal"))
    assert got[("banditore_queue_depth", emergency)] == 2
    assert got[("banditore_queue_depth", normal)] == 1
    assert 119 <= got[("banditore_queue_oldest_age_seconds", emergency)] < 140
    assert ("banditore_queue_depth", (("channel", channel), ("lane", "urgent"))) not in got
    assert got[("banditore_in_flight", (("channel", channel),))] == 1
    assert got[("banditore_sent_recent", (("channel", channel),))] == 2
    assert got[("banditore_failed_recent", (("channel", channel), ("code", "131026")))] == 2
    assert got[("banditore_retrying", (("channel", channel), ("code", "131049")))] == 1
    first = (
        "banditore_broadcast_first_message_seconds",
        (("broadcast", str(broadcast.pk)), ("channel", channel)),
    )
    assert 3.5 <= got[first] <= 4.5
    # Ids only: no number ever appears on the page.
    assert PHONE not in response.content.decode()
    assert "393330000000" not in response.content.decode()


def test_webhook_lease_and_worker_series_match_the_rows(client, comune, open_metrics):
    channel = channel_of(comune)
    now = timezone.now()
    old = WebhookEvent.objects.create(channel=channel, body="{}", digest="a")
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=now - timedelta(seconds=50))
    WebhookEvent.objects.create(channel=channel, body="{}", digest="b")
    WebhookEvent.objects.create(
        channel=channel, body="{}", digest="c", status=WebhookEvent.Status.PROCESSED
    )
    for digest in "de":
        WebhookEvent.objects.create(
            channel=channel, body="{}", digest=digest, status=WebhookEvent.Status.DEAD
        )
    channel.lease_owner = "dispatch-abc"
    channel.lease_expires_at = now + timedelta(seconds=3)
    channel.save()
    heartbeat.beat("host:1", now=now - timedelta(seconds=4))

    got = samples(client.get("/metrics"))
    assert 49 <= got[("banditore_webhook_lag_seconds", ())] < 70
    assert got[("banditore_webhook_pending", ())] == 2
    assert got[("banditore_webhook_dead_letters", ())] == 2
    lease = (("channel", str(channel.pk)), ("owner", "dispatch-abc"))
    assert got[("banditore_channel_lease", lease)] == 1
    assert got[("banditore_channel_paused", (("channel", str(channel.pk)),))] == 0
    assert 4 <= got[("banditore_worker_heartbeat_age_seconds", (("worker", "host:1"),))] < 20


def test_an_expired_lease_and_an_empty_queue_show_nothing(client, comune, open_metrics):
    channel = channel_of(comune)
    channel.lease_owner = "dispatch-gone"
    channel.lease_expires_at = timezone.now() - timedelta(seconds=1)
    channel.save()
    got = samples(client.get("/metrics"))
    assert not [k for k in got if k[0] in ("banditore_channel_lease", "banditore_queue_depth")]
    assert got[("banditore_webhook_lag_seconds", ())] == 0
