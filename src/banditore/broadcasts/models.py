"""Broadcasts and their deliveries. Delivery is the outbox: the only source of truth."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from banditore.channels.models import Channel
from banditore.core.models import Organization
from banditore.subscribers.models import Subscriber, Topic


class Priority(models.IntegerChoices):
    """A delivery's lane. Lower sorts first: the dispatcher claims emergencies before
    anything else, then answers to citizens who just wrote (never behind bulk), then the rest.
    A broadcast is emergency, urgent or normal; the conversation lane is for one-to-one
    messages only."""

    EMERGENCY = 0, _("emergency")
    CONVERSATION = 1, _("conversation")
    URGENT = 2, _("urgent")
    NORMAL = 3, _("normal")


BROADCAST_PRIORITIES = [(p.value, p.label) for p in Priority if p != Priority.CONVERSATION]


class Broadcast(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        APPROVED = "approved", _("approved")
        SCHEDULED = "scheduled", _("scheduled")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        PAUSED = "paused", _("paused")
        CANCELLED = "cancelled", _("cancelled")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="broadcasts"
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="broadcasts")
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(_("text"))
    topics = models.ManyToManyField(Topic, blank=True, related_name="broadcasts")
    priority = models.PositiveSmallIntegerField(
        choices=BROADCAST_PRIORITIES, default=Priority.NORMAL
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    audience_size = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        indexes = [models.Index(fields=["organization", "status"], name="broadcast_org_status")]

    def __str__(self) -> str:
        return self.title or self.text[:60]


class Delivery(models.Model):
    """One message to one number: a broadcast to a subscriber, or a reply."""

    class Kind(models.TextChoices):
        BROADCAST = "broadcast", _("broadcast")
        # Free text answering a citizen who just wrote (inside the 24-hour window).
        REPLY = "reply", _("reply")
        # A one-off message to one citizen outside the window (e.g. "your sign-up was
        # approved"): it goes out as the channel's template, like a broadcast.
        NOTICE = "notice", _("notice")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        READ = "read", _("read")
        FAILED = "failed", _("failed")
        # Never sent, and never will be: the reason is in skip_reason. Not a failure.
        SKIPPED = "skipped", _("skipped")
        # Its broadcast is paused: out of the claim index until the broadcast resumes.
        HELD = "held", _("held")

    class SkipReason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("the citizen left")
        UNREACHABLE = "unreachable", _("the number can't receive messages")
        ERASED = "erased", _("the citizen's data was erased")
        CANCELLED = "cancelled", _("the broadcast was cancelled")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    broadcast = models.ForeignKey(
        Broadcast, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BROADCAST)
    # Copied at materialisation so the hot path needs no join; blanked on erasure.
    recipient = models.CharField(max_length=16)
    # Free text of a reply; broadcasts read their text from the broadcast.
    text = models.TextField(blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    # The lease epoch under which the row was claimed: every write-back names it, so a
    # stalled owner that wakes up after losing its lease can't touch the new owner's rows.
    fence = models.BigIntegerField(default=0)
    # NULL, not "": the unique index on wamid must ignore deliveries not sent yet.
    wamid = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=300, blank=True)
    skip_reason = models.CharField(max_length=12, choices=SkipReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            # Materialising an audience twice must not message anyone twice.
            models.UniqueConstraint(
                fields=["broadcast", "subscriber"],
                condition=Q(broadcast__isnull=False, subscriber__isnull=False),
                name="one_delivery_per_broadcast_subscriber",
            ),
            models.UniqueConstraint(
                fields=["wamid"], condition=Q(wamid__isnull=False), name="delivery_wamid_unique"
            ),
        ]
        indexes = [
            # The dispatcher's claim: per channel, queued, in priority then id order.
            models.Index(
                fields=["channel", "priority", "id"],
                condition=Q(status="queued"),
                name="delivery_claim",
            ),
            models.Index(
                fields=["channel", "claimed_by"],
                condition=Q(status="sending"),
                name="delivery_inflight",
            ),
            models.Index(fields=["broadcast", "status"], name="delivery_broadcast_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.status})"


from banditore.broadcasts.slots import DigestSlot, SlotEntry, WindowPause  # noqa: E402, F401
