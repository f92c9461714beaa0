"""What the console keeps between two requests that may reach different web machines."""

from django.conf import settings
from django.db import models

from banditore.core.models import Organization


class PendingImport(models.Model):
    """An uploaded subscriber list between its dry run and the operator's confirmation.
    In the database, not on one machine's disk: the confirmation may reach another web
    process. Deleted when applied, or a day after the upload (console/subscribers.py)."""

    token = models.CharField(max_length=64, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # The proof of consent names the file: the name the operator's file had.
    name = models.CharField(max_length=255)
    content = models.BinaryField()
    consent_date = models.CharField(max_length=40, blank=True)
    consent_source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"{self.name} ({self.token})"
