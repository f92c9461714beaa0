"""What the provider told us: raw verified webhook bodies, and citizens' inbound messages."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from banditore.channels.models import Channel
from banditore.core.models import Organization
from banditore.subscribers.models import Subscriber


class WebhookEvent(models.Model):
    """A webhook body exactly as received, after its signature was verified.

    Stored before anything is applied, so a worker dying halfway loses nothing: the event
    stays pending and is applied again (every application is idempotent).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PROCESSED = "processed", _("processed")
        # Kept for events failed before dead letters existed.
        FAILED = "failed", _("failed")
        # Failed again and again (or can't be read at all): set aside for an operator, who
        # sees the error and may replay it once the cause is fixed.
        DEAD = "dead", _("dead letter")

    # The channel whose URL received it and whose credentials verified it; each item is
    # routed to the channel its account names (see webhooks/routing.py).
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_events")
    body = models.TextField()
    # SHA-256 of the raw body: a provider's retry or a replayed request is stored once.
    # NULL only for events stored before the column existed.
    digest = models.CharField(max_length=64, unique=True, null=True, blank=True)  # noqa: DJ001
    # Set at store time by a cheap look at the body: citizens' messages are applied ahead of
    # any backlog of delivery statuses.
    has_messages = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    received_at = models.DateTimeField(auto_now_add=True)
    # A status can overtake the write-back of its own send (the wamid isn't stored yet):
    # such an event is applied again a little later, until it matches or grows too old.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Transient failures (lock timeouts, deadlocks, a lost connection) so far: retried with
    # backoff, and a dead letter after MAX_FAILURES.
    failures = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [
            # The claim: pending events, messages first, then in arrival order.
            models.Index(
                fields=["-has_messages", "id"],
                condition=models.Q(status="pending"),
                name="webhook_pending_lane",
            )
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} ({self.status})"


class WebhookItemFailure(models.Model):
    """One item of an event that couldn't be applied, set aside while its siblings were."""

    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="items_set_aside"
    )
    # status / message / stop, and the provider's id of the message or sender it named.
    kind = models.CharField(max_length=10)
    reference = models.CharField(max_length=128, blank=True)
    error = models.TextField()
    item = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook item set aside")
        verbose_name_plural = _("webhook items set aside")

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}: {self.error[:60]}"


class InboundMessage(models.Model):
    class Handling(models.TextChoices):
        SUBSCRIBE = "subscribe", _("subscribe")
        UNSUBSCRIBE = "unsubscribe", _("unsubscribe")
        COMMAND = "command", _("command answered")
        POINTER = "pointer", _("pointer sent")
        IGNORED = "ignored", _("ignored")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="inbound_messages")
    subscriber = models.ForeignKey(
        Subscriber,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    # The sender's address on the channel's kind: a number in E.164, a Telegram chat id.
    sender = models.CharField(max_length=16)
    # The provider's id of the message: unique per channel (a Telegram message id is the
    # chat's and the message's number, which another bot sees too).
    wamid = models.CharField(max_length=128)
    type = models.CharField(max_length=20)
    text = models.TextField(blank=True)
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    handling = models.CharField(max_length=12, choices=Handling.choices)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        constraints = [
            models.UniqueConstraint(fields=["channel", "wamid"], name="inbound_once_per_channel")
        ]
        indexes = [
            models.Index(fields=["organization", "sender", "received_at"], name="inbound_sender")
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"
