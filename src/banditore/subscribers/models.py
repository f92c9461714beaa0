"""Citizens who asked for the news, what they follow, and the proof that they asked."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from banditore.core.models import Organization

E164_REGEX = r"^\+[1-9][0-9]{6,14}$"


class Choice(models.Model):
    """Something a subscriber picks from the comune's list, by number, name or keyword."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    name = models.CharField(_("name"), max_length=80)
    slug = models.SlugField(_("keyword"), max_length=40)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="%(class)s_slug_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class Topic(Choice):
    class Meta(Choice.Meta):
        verbose_name = _("topic")
        verbose_name_plural = _("topics")


class Zone(Choice):
    """A frazione or quartiere a subscriber may live in, for local news."""

    class Meta(Choice.Meta):
        verbose_name = _("zone")
        verbose_name_plural = _("zones")


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ACTIVE = "active", _("active")
        UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
        # The provider says the number can't receive WhatsApp messages (131026 & co.).
        UNREACHABLE = "unreachable", _("unreachable")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="subscribers"
    )
    # The WhatsApp number, which is also how the comune knows the person (the console, the
    # CSV import, a GDPR request). Blank for someone who only uses another kind of contact
    # (see Contact).
    phone = models.CharField(
        _("phone number"), max_length=16, blank=True, help_text=_("E.164, e.g. +393331234567")
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    topics = models.ManyToManyField(Topic, blank=True, related_name="subscribers")
    zone = models.ForeignKey(
        Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="subscribers"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    # Web sign-ups: the code the citizen sends back from WhatsApp to prove the number.
    confirmation_code = models.CharField(max_length=12, blank=True, db_index=True)
    # When the number was proven (a message from it), and when an operator approved it.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    subscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The last time the citizen wrote to us: opens WhatsApp's 24-hour service window.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The citizen's time of the newest subscribe/unsubscribe/topics command applied (or the
    # moment of an operator's or the system's change): an older command changes nothing.
    last_command_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "phone"],
                condition=~Q(phone=""),
                name="one_subscriber_per_number",
            ),
            models.CheckConstraint(
                condition=Q(phone__regex=E164_REGEX) | Q(phone=""), name="subscriber_phone_e164"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="subscriber_org_status")]

    def __str__(self) -> str:
        if self.phone:
            return self.phone
        # all(), not first(): a list that prefetched the contacts asks no more queries.
        contact = next(iter(self.contacts.all()), None) if self.pk else None
        return str(contact) if contact else f"#{self.pk}"


class Contact(models.Model):
    """A way to reach a subscriber other than their WhatsApp number: a Telegram chat, an
    e-mail address. A message from it, or its confirmation link, proves it (`verified_at`);
    the provider's word that it can't get messages makes it unreachable."""

    class Kind(models.TextChoices):
        TELEGRAM = "telegram", "Telegram"
        EMAIL = "email", _("e-mail")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Telegram: the chat id, in decimal; e-mail: the address, lower-cased.
    address = models.CharField(max_length=254)
    verified_at = models.DateTimeField(null=True, blank=True)
    unreachable_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "address"], name="one_subscriber_per_contact"
            ),
            models.UniqueConstraint(fields=["subscriber", "kind"], name="one_contact_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.address}"


class ConsentEvent(models.Model):
    """Append-only proof of every change to a subscription (GDPR art. 7(1))."""

    class Action(models.TextChoices):
        SUBSCRIBE = "subscribe", _("subscribe")
        CONFIRM = "confirm", _("confirm")
        APPROVE = "approve", _("approved by an operator")
        TOPICS = "topics", _("topics changed")
        UNSUBSCRIBE = "unsubscribe", _("unsubscribe")
        # The provider says the number can't receive messages.
        UNREACHABLE = "unreachable", _("unreachable")
        ERASE = "erase", _("erase")

    class Source(models.TextChoices):
        WHATSAPP = "whatsapp", "WhatsApp"
        TELEGRAM = "telegram", "Telegram"
        WEB = "web", _("web form")
        OPERATOR = "operator", _("operator")
        IMPORT = "import", _("import")
        PROVIDER = "provider", _("provider signal")
        # The retention rules, applied by the daily purge.
        SYSTEM = "system", _("retention rule")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="consent_events"
    )
    # The number as it was at the time; blanked on erasure, when phone_hash remains as proof.
    phone = models.CharField(max_length=16, blank=True)
    # The contact the change came through or concerns, when it is not the WhatsApp number
    # ("telegram", "12345"); blanked on erasure like the number.
    contact_kind = models.CharField(max_length=10, blank=True)
    contact = models.CharField(max_length=254, blank=True)
    # The hash of the number (or of "kind:contact"): what proves the change after erasure.
    phone_hash = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    notice_version = models.CharField(max_length=40)
    topics = models.JSONField(default=list, blank=True)
    zone = models.CharField(max_length=40, blank=True)
    # What proves it: the inbound wamid and the raw keyword, a form id, an import batch...
    evidence = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["occurred_at", "id"]
        indexes = [
            # The web form's rate limit counts recent sign-ups per IP.
            models.Index(fields=["source", "ip", "occurred_at"], name="consent_source_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.action} {self.source}"

    def save(self, *args, **kwargs):
        # Erasure and purge change rows through querysets, never through a model save.
        if self.pk is not None:
            raise ValueError("ConsentEvent is append-only")
        super().save(*args, **kwargs)
