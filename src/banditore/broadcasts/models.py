"""Broadcasts and their deliveries. Delivery is the outbox: the only source of truth."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.signals import m2m_changed, pre_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from banditore.channels.models import Channel, MessageTemplate
from banditore.core.models import Organization
from banditore.subscribers.models import Subscriber, Topic, Zone


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
        SUBMITTED = "submitted", _("awaiting approval")
        APPROVED = "approved", _("approved")
        SCHEDULED = "scheduled", _("scheduled")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        PAUSED = "paused", _("paused")
        CANCELLED = "cancelled", _("cancelled")
        # Its time passed while the service was down, beyond the comune's grace.
        MISSED = "missed", _("missed")

    # What a citizen receives: frozen once the audience has been materialised.
    CONTENT_FIELDS = ("text", "title", "priority", "template_id", "template_params")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="broadcasts"
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="broadcasts")
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(_("text"))
    topics = models.ManyToManyField(Topic, blank=True, related_name="broadcasts")
    # A frazione's news: only subscribers who said they live in one of these (none: anywhere).
    zones = models.ManyToManyField(Zone, blank=True, related_name="broadcasts")
    priority = models.PositiveSmallIntegerField(
        choices=BROADCAST_PRIORITIES, default=Priority.NORMAL
    )
    # The provider template it goes out as outside the citizens' 24-hour windows; none = the
    # channel's default template, with the comune's name and the text as its parameters.
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="broadcasts"
    )
    # The template's parameters by placeholder name ("1", "2" or a named one); empty = the
    # default mapping (see broadcasts/templating.py).
    template_params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Why it is paused when nobody chose to (its template paused or re-categorised).
    paused_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by_label = models.CharField(max_length=150, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by_label = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_label = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paused_by_label = models.CharField(max_length=150, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_by_label = models.CharField(max_length=150, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    audience_size = models.PositiveIntegerField(default=0)
    # The audience is queued in chunks (audience.py, its progress in AudienceLane rows):
    # whether the last chunk has landed. Until it has, the dispatcher sends what is queued but
    # never calls the broadcast finished. True for anything not materialising.
    audience_complete = models.BooleanField(default=True, db_default=True)
    # An emergency sent on one person's decision: a second person looks at it afterwards.
    review_required = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by_label = models.CharField(max_length=150, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Cost as estimated when it was sent; billable_count is what was actually paid for.
    estimated_cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    billable_count = models.PositiveIntegerField(null=True, blank=True)
    budget_override_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        indexes = [models.Index(fields=["organization", "status"], name="broadcast_org_status")]
        permissions = [
            ("send_emergency_alone", _("Can send an emergency without a second approval")),
            ("override_budget", _("Can send beyond the monthly budget")),
        ]

    def __str__(self) -> str:
        return self.title or self.text[:60]

    def save(self, *args, **kwargs):
        fields = kwargs.get("update_fields")
        touches_content = fields is None or set(fields) & set(self.CONTENT_FIELDS)
        if self.pk and touches_content:
            # The stored row, not this instance: a stale copy must not slip a change through.
            before = (
                Broadcast.objects.filter(pk=self.pk)
                .values("started_at", *self.CONTENT_FIELDS)
                .first()
            )
            if before and before["started_at"] is not None:
                changed = [f for f in self.CONTENT_FIELDS if before[f] != getattr(self, f)]
                if changed:
                    raise ImmutableBroadcast(self.pk, changed)
        super().save(*args, **kwargs)

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def recipients(self):
        """Its deliveries to the audience: without the test sends that show it to operators."""
        return self.deliveries.filter(kind=Delivery.Kind.BROADCAST)


class AudienceLane(models.Model):
    """One stripe of an audience still being queued: the subscribers whose id modulo `lanes`
    is `lane`, queued in chunks in id order up to `cursor`. Stripes let several processes
    (or threads) queue one big audience at once; each lane is one process's at a time. The
    rows go when the whole audience has landed."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="+")
    lane = models.PositiveSmallIntegerField()
    lanes = models.PositiveSmallIntegerField()
    # The highest subscriber id of this stripe queued so far.
    cursor = models.BigIntegerField(default=0)
    complete = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "lane"], name="one_audience_lane")
        ]

    def __str__(self) -> str:
        return f"broadcast {self.broadcast_id} lane {self.lane}/{self.lanes} at {self.cursor}"


class ImmutableBroadcast(Exception):
    """A change to what citizens already received (or are receiving), or its deletion."""

    def __init__(self, pk, fields):
        self.fields = list(fields)
        if self.fields == ["deleted"]:
            message = _("Broadcast %(id)s has started: it can't be deleted.") % {"id": pk}
        else:
            message = _("Broadcast %(id)s has started: %(fields)s can no longer change.") % {
                "id": pk,
                "fields": ", ".join(self.fields),
            }
        super().__init__(message)


def _audience_frozen_once_started(field: str):
    """Topics and zones choose who is queued: once the audience exists they can't change."""

    def check(sender, instance, action, reverse, pk_set, **kwargs):
        if action not in ("pre_add", "pre_remove", "pre_clear"):
            return
        if not reverse:
            affected = Broadcast.objects.filter(pk=instance.pk)
        elif pk_set is not None:
            affected = Broadcast.objects.filter(pk__in=pk_set)
        else:
            affected = Broadcast.objects.filter(**{field: instance})
        started = affected.filter(started_at__isnull=False).values_list("pk", flat=True).first()
        if started is not None:
            raise ImmutableBroadcast(started, [field])

    return check


for _field in ("topics", "zones"):
    m2m_changed.connect(
        _audience_frozen_once_started(_field),
        sender=getattr(Broadcast, _field).through,
        weak=False,
        dispatch_uid=f"broadcast-{_field}-frozen",
    )


@receiver(pre_delete, sender=Broadcast)
def _started_broadcasts_stay(sender, instance, **kwargs):
    # Its deliveries are the record of what was sent to whom; a signal, so that a queryset's
    # delete (the admin's bulk action) is refused too.
    if instance.started_at is not None:
        raise ImmutableBroadcast(instance.pk, ["deleted"])


class Delivery(models.Model):
    """One message to one number: a broadcast to a subscriber, or a reply."""

    class Kind(models.TextChoices):
        BROADCAST = "broadcast", _("broadcast")
        # Free text answering a citizen who just wrote (inside the 24-hour window).
        REPLY = "reply", _("reply")
        # A one-off message to one citizen outside the window (e.g. "your sign-up was
        # approved"): it goes out as the channel's template, like a broadcast.
        NOTICE = "notice", _("notice")
        # A broadcast posted once to the comune's public channel (Telegram), which all its
        # followers read: no subscriber, no receipts.
        POST = "post", _("public channel post")

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

    # The outbox takes a million rows in seconds (broadcasts/audience.py), so its references
    # are kept by the application, not by the database: a foreign key's check is a trigger
    # per row per reference (on PostgreSQL it also locks each subscriber's row), and it made
    # materialising 1,000,000 recipients three times slower (62 s against 23 s, measured). The
    # parents are safe without it: the materialiser holds the broadcast's row (and so its
    # channel and comune) while a chunk lands; deletes cascade through Django's collector;
    # and a row whose subscriber was erased meanwhile is never claimed (the claim requires an
    # active subscriber) but skipped as erased, its number blanked. Nor does each reference
    # get an index of its own: the ones below serve every lookup (broadcast: its status
    # index; subscriber: the unique index), and a comune or channel is deleted too rarely to
    # pay an index per row for it.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    broadcast = models.ForeignKey(
        Broadcast,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    subscriber = models.ForeignKey(
        Subscriber,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BROADCAST)
    # The address on the channel's kind (a number in E.164, a Telegram chat id, an e-mail
    # address), copied at materialisation so the hot path needs no join; blanked on erasure.
    recipient = models.CharField(max_length=254)
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
    # Sent as free text inside the citizen's 24-hour window: neither paid nor counted by the
    # provider's messaging limit.
    free = models.BooleanField(default=False, db_default=False)
    # The provider said the citizen's window had closed: it goes as the template from now on.
    window_closed = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            # Materialising an audience twice must not message anyone twice. Subscriber
            # first, so that it is also the index of a citizen's deliveries (erasure, the
            # privacy export); rows with no broadcast or no subscriber never conflict (NULLs
            # are distinct), so it needs no condition.
            models.UniqueConstraint(
                fields=["subscriber", "broadcast"], name="one_delivery_per_subscriber_broadcast"
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


from banditore.broadcasts.media import BroadcastMedia  # noqa: E402, F401
from banditore.broadcasts.slots import DigestSlot, SlotEntry, WindowPause  # noqa: E402, F401
