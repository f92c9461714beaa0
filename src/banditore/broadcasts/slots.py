"""Time-based holds on broadcasts: repeating digest slots and the sending window's pauses.

Defined here, not in models.py, so scheduling owns its tables; models.py imports this
module so Django finds them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from banditore.core.models import Organization


class DigestSlot(models.Model):
    """A repeating moment ("every Thursday at 10:00", local time) at which the broadcasts
    assigned to it go out together as one digest."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="digest_slots"
    )
    name = models.CharField(_("name"), max_length=100)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    # Wall-clock time in the comune's time zone: 10:00 stays 10:00 across DST changes.
    time = models.TimeField(_("time (local)"))
    active = models.BooleanField(_("active"), default=True)
    # In UTC; the worker that moves it forward first (one conditional UPDATE) runs the slot.
    next_run_at = models.DateTimeField(_("next run"))

    class Meta:
        verbose_name = _("digest slot")
        verbose_name_plural = _("digest slots")
        indexes = [
            models.Index(fields=["next_run_at"], condition=models.Q(active=True), name="slot_due")
        ]

    def __str__(self) -> str:
        return self.name


class SlotEntry(models.Model):
    """A broadcast waiting for its slot's next digest (at most one slot per broadcast)."""

    slot = models.ForeignKey(DigestSlot, on_delete=models.CASCADE, related_name="entries")
    broadcast = models.OneToOneField(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="slot_entry"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("digest entry")
        verbose_name_plural = _("digest entries")
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return f"{self.slot} ← {self.broadcast}"


class WindowPause(models.Model):
    """A broadcast the scheduler paused because its drain reached the end of the sending
    window; it resumes at `until`, the next opening. An operator's own pauses have no row,
    so the scheduler never resumes what a person paused."""

    broadcast = models.OneToOneField(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="window_pause"
    )
    paused_at = models.DateTimeField(auto_now_add=True)
    until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.broadcast} until {self.until:%Y-%m-%d %H:%M}"
