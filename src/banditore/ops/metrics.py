"""Prometheus metrics, read from the database at every scrape.

Every web process answers the same, whichever the worker that did the work: nothing is
counted in memory, so nothing is lost on a restart or split across processes. Labels carry
ids only (channel, broadcast, worker), never a phone number or a name.
"""

from datetime import timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.channels.models import Channel
from banditore.ops.models import WorkerHeartbeat
from banditore.webhooks.models import WebhookEvent

# Sends and errors are counted over this recent window (rows, not in-memory counters).
WINDOW = timedelta(minutes=15)
# Broadcasts whose time to first message is shown: those started this recently.
FIRST_MESSAGE_WINDOW = timedelta(hours=24)

LANES = {p.value: p.name.lower() for p in Priority}
SENT = [Delivery.Status.SENT, Delivery.Status.DELIVERED, Delivery.Status.READ]


def _seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())


class DatabaseCollector(Collector):
    def collect(self):
        now = timezone.now()
        yield from self.queue(now)
        yield from self.outcomes(now)
        yield from self.webhooks(now)
        yield from self.leases(now)
        yield from self.first_messages(now)
        yield from self.workers(now)

    def queue(self, now):
        depth = GaugeMetricFamily(
            "banditore_queue_depth",
            "Deliveries queued, per channel and lane.",
            labels=["channel", "lane"],
        )
        oldest = GaugeMetricFamily(
            "banditore_queue_oldest_age_seconds",
            "Age of the oldest queued delivery, per channel and lane.",
            labels=["channel", "lane"],
        )
        rows = (
            Delivery.objects.filter(status=Delivery.Status.QUEUED)
            .values("channel_id", "priority")
            .annotate(n=Count("id"), first=Min("created_at"))
            .order_by()
        )
        for row in rows:
            labels = [str(row["channel_id"]), LANES.get(row["priority"], str(row["priority"]))]
            depth.add_metric(labels, row["n"])
            oldest.add_metric(labels, _seconds(now - row["first"]))
        in_flight = GaugeMetricFamily(
            "banditore_in_flight",
            "Deliveries claimed and being sent, per channel.",
            labels=["channel"],
        )
        rows = (
            Delivery.objects.filter(status=Delivery.Status.SENDING)
            .values("channel_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            in_flight.add_metric([str(row["channel_id"])], row["n"])
        return [depth, oldest, in_flight]

    def outcomes(self, now):
        since = now - WINDOW
        window = int(WINDOW.total_seconds())
        return [
            _counted(
                "banditore_sent_recent",
                f"Deliveries sent in the last {window} s, per channel.",
                Delivery.objects.filter(status__in=SENT, sent_at__gte=since),
                by_code=False,
            ),
            _counted(
                "banditore_failed_recent",
                f"Deliveries failed for good in the last {window} s, per channel and error code.",
                Delivery.objects.filter(status=Delivery.Status.FAILED, failed_at__gte=since),
            ),
            _counted(
                "banditore_retrying",
                "Queued deliveries whose last attempt got an error, per channel and error code.",
                Delivery.objects.filter(status=Delivery.Status.QUEUED, error_code__isnull=False),
            ),
        ]

    def webhooks(self, now):
        pending = WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).aggregate(
            n=Count("id"), first=Min("received_at")
        )
        lag = GaugeMetricFamily(
            "banditore_webhook_lag_seconds",
            "Age of the oldest webhook event not applied yet (0: none waiting).",
        )
        lag.add_metric([], _seconds(now - pending["first"]) if pending["first"] else 0.0)
        waiting = GaugeMetricFamily(
            "banditore_webhook_pending", "Webhook events stored and not applied yet."
        )
        waiting.add_metric([], pending["n"])
        dead = GaugeMetricFamily(
            "banditore_webhook_dead_letters",
            "Webhook events set aside for an operator (dead letters).",
        )
        dead.add_metric([], WebhookEvent.objects.filter(status=WebhookEvent.Status.DEAD).count())
        return [lag, waiting, dead]

    def leases(self, now):
        owners = GaugeMetricFamily(
            "banditore_channel_lease",
            "1 for each channel's live lease, labelled with the dispatcher holding it.",
            labels=["channel", "owner"],
        )
        paused = GaugeMetricFamily(
            "banditore_channel_paused",
            "1 when the channel is paused (an account-wide error), else 0.",
            labels=["channel"],
        )
        for channel_id, owner, expires, status in Channel.objects.values_list(
            "id", "lease_owner", "lease_expires_at", "status"
        ):
            if owner and expires and expires >= now:
                owners.add_metric([str(channel_id), owner], 1)
            paused.add_metric([str(channel_id)], int(status == Channel.Status.PAUSED))
        return [owners, paused]

    def first_messages(self, now):
        first = GaugeMetricFamily(
            "banditore_broadcast_first_message_seconds",
            "From a broadcast's start to its first message sent, for recent broadcasts.",
            labels=["broadcast", "channel"],
        )
        rows = (
            Broadcast.objects.filter(started_at__gte=now - FIRST_MESSAGE_WINDOW)
            .annotate(
                first=Min(
                    "deliveries__sent_at",
                    filter=Q(deliveries__kind=Delivery.Kind.BROADCAST),
                )
            )
            .filter(first__isnull=False)
            .values_list("id", "channel_id", "started_at", "first")
        )
        for broadcast_id, channel_id, started, sent in rows:
            first.add_metric([str(broadcast_id), str(channel_id)], _seconds(sent - started))
        return [first]

    def workers(self, now):
        age = GaugeMetricFamily(
            "banditore_worker_heartbeat_age_seconds",
            "Seconds since each worker's last tick.",
            labels=["worker"],
        )
        for worker, beat_at in WorkerHeartbeat.objects.values_list("worker", "beat_at"):
            age.add_metric([worker], _seconds(now - beat_at))
        return [age]


def exposition() -> bytes:
    """The metrics page; a registry of its own per scrape, so nothing is kept between two."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def _counted(name: str, documentation: str, deliveries, *, by_code: bool = True):
    """A gauge of how many of these deliveries there are, per channel (and error code)."""
    fields = ["channel_id", "error_code"] if by_code else ["channel_id"]
    family = GaugeMetricFamily(name, documentation, labels=["channel", "code"][: len(fields)])
    for row in deliveries.values(*fields).annotate(n=Count("id")).order_by():
        family.add_metric([str(row[f] or "") for f in fields], row["n"])
    return family
