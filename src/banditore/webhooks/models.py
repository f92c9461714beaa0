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
        FAILED = "failed", _("failed")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_events")
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    received_at = models.DateTimeField(auto_now_add=True)
    # A status can overtake the write-back of its own send (the wamid isn't stored yet):
    # such an event is applied again a little later, until it matches or grows too old.
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(status="pending"), name="webhook_pending"
            )
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} ({self.status})"


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
    sender = models.CharField(max_length=16)
    wamid = models.CharField(max_length=128, unique=True)
    type = models.CharField(max_length=20)
    text = models.TextField(blank=True)
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    handling = models.CharField(max_length=12, choices=Handling.choices)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        indexes = [
            models.Index(fields=["organization", "sender", "received_at"], name="inbound_sender")
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"
