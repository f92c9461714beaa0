"""The console's broadcast forms: only the shape of the input; the rules are the service's."""

import zoneinfo
from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banditore.broadcasts import lifecycle
from banditore.broadcasts.models import BROADCAST_PRIORITIES, Priority


class BroadcastForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    text = forms.CharField(
        label=_("Text"),
        max_length=lifecycle.TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("*bold*, _italic_, ~strikethrough~; links are written out in full."),
    )
    topics = forms.ModelMultipleChoiceField(
        label=_("Topics"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None: every subscriber."),
    )
    zones = forms.ModelMultipleChoiceField(
        label=_("Zones"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None: wherever they live. With zones, only who said they live there."),
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=BROADCAST_PRIORITIES, coerce=int, initial=Priority.NORMAL
    )
    attachment = forms.FileField(
        label=_("Image or PDF"),
        required=False,
        help_text=_("A JPEG or PNG image (at most 5 MB) or a PDF."),
    )

    def __init__(self, org, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = org.topics.order_by("position", "name")
        self.fields["zones"].queryset = org.zones.order_by("position", "name")


class ScheduleForm(forms.Form):
    at = forms.DateTimeField(
        label=_("Send at"),
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, org, *args, **kwargs):
        self.zone = zoneinfo.ZoneInfo(org.time_zone)
        super().__init__(*args, **kwargs)

    def clean_at(self) -> datetime:
        # The office types the comune's wall clock, whatever zone the server runs in.
        at = self.cleaned_data["at"]
        return timezone.make_aware(at.replace(tzinfo=None), self.zone)


class TestSendForm(forms.Form):
    numbers = forms.CharField(
        label=_("The office's numbers"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, at most 10."),
    )

    def numbers_list(self) -> list[str]:
        raw = self.cleaned_data["numbers"].replace(",", "\n")
        return [n.strip() for n in raw.splitlines() if n.strip()]
