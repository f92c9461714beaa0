"""API keys and the responses kept for Idempotency-Key retries."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from banditore.broadcasts.models import Broadcast
from banditore.core.models import Organization

SCOPES = (
    "broadcasts:read",
    "broadcasts:write",
    "broadcasts:approve",
    "broadcasts:emergency",
    "subscribers:read",
    "topics:read",
)


class ApiKey(models.Model):
    """A comune's key for another system (a civil-protection platform, the site's CMS).

    Only the SHA-256 of the secret is kept: the secret is 32 random bytes, so a fast hash
    is as safe as a slow one, and each request costs one indexed lookup."""

    class Kind(models.TextChoices):
        LIVE = "live", _("live")
        # Its broadcasts never reach citizens (see api/testkeys.py).
        TEST = "test", _("test")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.LIVE)
    scopes = models.JSONField(default=list)
    prefix = models.CharField(max_length=8)
    hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_api_key_name_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_test(self) -> bool:
        return self.kind == self.Kind.TEST


class TestBroadcast(models.Model):
    """A broadcast created with a test key: only test keys see it, and no key may approve,
    schedule or send it for real."""

    broadcast = models.OneToOneField(
        Broadcast, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"test broadcast {self.broadcast_id}"


class IdempotentResponse(models.Model):
    """The first response to a POST with an Idempotency-Key, replayed to its retries.

    The row is inserted before the request acts, in the same transaction: a concurrent
    retry waits on the unique index and then finds the stored response."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key", "method", "path"], name="one_response_per_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
