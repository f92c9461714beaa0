"""The privacy notice's published versions: what a citizen read when they consented."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from banditore.core.models import Organization


class PrivacyNotice(models.Model):
    """One version of a comune's privacy notice, as published: its Italian text (the binding
    one) and that text's SHA-256, which every web consent proof records. A version is never
    changed; a changed text is a new version (public/notices.py)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="privacy_notices"
    )
    version = models.PositiveIntegerField(_("version"))
    html = models.TextField()
    sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField(_("published"), auto_now_add=True)

    class Meta:
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="privacy_notice_version_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization.slug} v{self.version}"


class SignupAttempt(models.Model):
    """One accepted sign-up form from an address block (an IPv4 address or an IPv6 /64),
    whatever it did: the per-address limit counts these, not consent events, so a form that
    changed nothing (the number was known) counts like any other and the limit tells nobody
    which numbers are known. Rows older than the limit's window are deleted as new ones come."""

    block = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["block", "at"], name="signup_attempt_block_at")]

    def __str__(self) -> str:
        return f"{self.block} {self.at:%Y-%m-%d %H:%M}"
