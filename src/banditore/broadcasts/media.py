"""A broadcast's image or PDF (a flyer, an ordinance): kept in the database, so every
worker on every machine can read it, and uploaded once to the channel's media endpoint;
every recipient's message names the provider's media id."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BroadcastMedia(models.Model):
    broadcast = models.OneToOneField(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="media"
    )
    mime_type = models.CharField(max_length=100)
    filename = models.CharField(max_length=240)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    # The provider's id for the uploaded copy, and when it was uploaded (WhatsApp keeps
    # uploads 30 days: an older one is uploaded again).
    provider_id = models.CharField(max_length=128, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename
