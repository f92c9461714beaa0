"""A channel: one sending identity of a comune (today a WhatsApp Business number)."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from banditore.channels.secrets import SecretsJSONField
from banditore.core.models import Organization


class Channel(models.Model):
    class Kind(models.TextChoices):
        WHATSAPP = "whatsapp", "WhatsApp"
        TELEGRAM = "telegram", "Telegram"

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        # Paused by the dispatcher on an account-wide error (bad token, template gone):
        # nothing is sent until an operator resumes it.
        PAUSED = "paused", _("paused")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="channels"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WHATSAPP)
    name = models.CharField(_("name"), max_length=100)
    # Kind-specific settings and credentials, validated by the kind's own model
    # (see channels/whatsapp/config.py), as healthchecks keeps Channel.value. Credentials
    # are encrypted in the database and read back in clear (channels/secrets.py).
    config = SecretsJSONField(default=dict)
    rate_per_second = models.PositiveIntegerField(
        _("messages per second"),
        default=80,
        validators=[MinValueValidator(1)],
        help_text=_("The provider's cap for this number."),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    paused_reason = models.TextField(blank=True)
    # Lease: exactly one dispatcher drains a channel at a time, so its rate limit is exact
    # without coordination; a dead dispatcher's lease expires and another takes over.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Grows by one each time a dispatcher takes the lease over (not on renewal): the fencing
    # token written into every row it claims.
    lease_epoch = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_per_second__gte=1), name="channel_rate_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.name}"

    def clean(self):
        from pydantic import ValidationError as ConfigError

        from banditore.channels import registry

        try:
            registry.of(self).config.model_validate(self.config)
        except ConfigError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ValidationError({"config": problems}) from None

    @property
    def whatsapp(self):
        from banditore.channels.whatsapp.config import WhatsAppConfig

        return WhatsAppConfig.model_validate(self.config)


class MessageTemplate(models.Model):
    """One of a channel's message templates as the provider holds it: synced from the
    provider's API and kept current by its webhooks (status and category changes).

    Status and category are the provider's own words (WhatsApp: APPROVED, PAUSED, … and
    MARKETING, UTILITY, …), stored as given: the provider adds values over time."""

    APPROVED = "APPROVED"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(_("name"), max_length=512)
    language = models.CharField(_("language"), max_length=15)
    category = models.CharField(_("category"), max_length=30)
    status = models.CharField(_("status"), max_length=30)
    # Why it was rejected, paused or re-categorised, as the provider said it.
    reason = models.CharField(max_length=300, blank=True)
    # The provider's components (header, body, footer, buttons), as listed by its API.
    components = models.JSONField(default=list)
    parameter_format = models.CharField(max_length=12, default="positional")
    provider_id = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "name", "language"], name="template_per_channel_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def approved(self) -> bool:
        return self.status == self.APPROVED
