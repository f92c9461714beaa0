"""The forms of the console's staff pages: subscribers, settings, users, audit."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from banditore.broadcasts.slots import DigestSlot
from banditore.core.models import Operator, Organization
from banditore.subscribers import replies
from banditore.subscribers.models import ConsentEvent, Subscriber


class Styled:
    """Bootstrap Italia's classes on every widget, and the help and error texts tied to
    their field for screen readers (templates: console/subscribers/_field.html)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)
            if field.help_text:
                widget.attrs["aria-describedby"] = f"{self[name].auto_id}-help"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = " ".join(
                    filter(None, [attrs.get("aria-describedby"), f"{self[name].auto_id}-error"])
                )


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"


class SubscriberFilter(Styled, forms.Form):
    """The list's filters, read from the query string; every field is optional."""

    number = forms.CharField(label=_("Number contains"), required=False, max_length=16)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any"))] + Subscriber.Status.choices
    )
    topic = forms.ModelChoiceField(
        label=_("Topic"), required=False, queryset=None, empty_label=_("any")
    )
    zone = forms.ModelChoiceField(
        label=_("Zone"), required=False, queryset=None, empty_label=_("any")
    )
    source = forms.ChoiceField(
        label=_("Signed up through"),
        required=False,
        choices=[("", _("any"))] + ConsentEvent.Source.choices,
    )
    since = forms.DateField(label=_("Signed up from"), required=False, widget=DateInput)
    until = forms.DateField(label=_("Signed up until"), required=False, widget=DateInput)

    def __init__(self, organization: Organization, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = organization.topics.all()
        self.fields["zone"].queryset = organization.zones.all()


class ImportUpload(Styled, forms.Form):
    file = forms.FileField(label=_("CSV file"))
    consent_date = forms.CharField(
        label=_("Consent date for rows without one"),
        required=False,
        max_length=40,
        help_text=_("e.g. 01/03/2024"),
    )
    consent_source = forms.CharField(
        label=_("Consent source for rows without one"),
        required=False,
        max_length=200,
        help_text=_("e.g. sent ISCRIVIMI to the old number"),
    )


class ImportConfirm(Styled, forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows and leave the invalid ones out"), required=False
    )


def _https_urls(field, **kwargs):
    # An address typed without a scheme is the comune's https site, not http.
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class OrganizationSettings(Styled, forms.ModelForm):
    """What a comune's amministratore may change about it (not its name or slug)."""

    TEXTS = replies.FIELDS

    class Meta:
        model = Organization
        formfield_callback = _https_urls
        fields = [
            *replies.FIELDS,
            "pointer_interval_hours",
            "subscribe_keywords",
            "unsubscribe_keywords",
            "send_window_start",
            "send_window_end",
            "urgent_ignores_window",
            "require_broadcast_approval",
            "monthly_budget",
            "inbound_retention_days",
            "proof_retention_days",
            "privacy_notice_url",
            "controller",
            "dpo_contact",
            "contacts",
        ]
        widgets = {
            **{text: forms.Textarea(attrs={"rows": 2}) for text in replies.FIELDS},
            "send_window_start": TimeInput(format="%H:%M"),
            "send_window_end": TimeInput(format="%H:%M"),
            "welcome_text": forms.Textarea(attrs={"rows": 4}),
            "already_text": forms.Textarea(attrs={"rows": 3}),
            "goodbye_text": forms.Textarea(attrs={"rows": 3}),
            "pointer_text": forms.Textarea(attrs={"rows": 3}),
            "subscribe_keywords": forms.Textarea(attrs={"rows": 2}),
            "unsubscribe_keywords": forms.Textarea(attrs={"rows": 2}),
            "controller": forms.Textarea(attrs={"rows": 2}),
            "contacts": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each reply's preview follows the typing (settings_views.preview), before saving.
        for name in self.TEXTS:
            self.fields[name].widget.attrs.update(
                {
                    "hx-post": reverse_lazy("console:settings_preview"),
                    "hx-trigger": "input changed delay:400ms",
                    "hx-target": f"#preview-{name}",
                    "hx-swap": "outerHTML",
                    "hx-include": "#settings-form [name=csrfmiddlewaretoken]",
                }
            )

    def clean(self):
        data = super().clean()
        start, end = data.get("send_window_start"), data.get("send_window_end")
        if start and end and start >= end:
            self.add_error("send_window_end", _("The window must end after it starts."))
        return data


# What the press office sees for each kind's secret (the kind lists its own: ChannelKind.secrets).
SECRET_LABELS = {
    "access_token": _("Access token"),
    "app_secret": _("App secret"),
    "verify_token": _("Webhook verify token"),
    "bot_token": _("Bot token"),
    "webhook_secret": _("Webhook secret"),
}


class ChannelCredentials(Styled, forms.Form):
    """The channel's secrets, write-only: shown empty, and only a typed value replaces one."""

    def __init__(self, *args, secrets: tuple[str, ...], **kwargs):
        self.base_fields = {
            key: forms.CharField(
                label=SECRET_LABELS[key],
                required=False,
                widget=forms.PasswordInput(render_value=False),
            )
            for key in secrets
        }
        super().__init__(*args, **kwargs)

    # Django strips; a value with spaces inside must reach the channel's own validation.
    def typed(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key in self.fields if self.cleaned_data.get(key)}


class DigestSlotForm(Styled, forms.ModelForm):
    class Meta:
        model = DigestSlot
        fields = ["name", "weekday", "time"]
        widgets = {"time": TimeInput(format="%H:%M")}


class NewOperator(Styled, forms.Form):
    # create_user() checks nothing: the model's own rule for usernames is applied here.
    username = forms.CharField(
        label=_("Username"), max_length=150, validators=[UnicodeUsernameValidator()]
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Operator.Role.choices)
    reads_inbound = forms.BooleanField(label=_("Reads what citizens write"), required=False)
    password = forms.CharField(
        label=_("Initial password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=lazy(password_validation.password_validators_help_text_html, str)(),
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("username"):
            user = get_user_model()(username=data["username"], email=data.get("email", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class OperatorRole(Styled, forms.ModelForm):
    class Meta:
        model = Operator
        fields = ["role", "reads_inbound"]


class AuditFilter(Styled, forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)

    def __init__(self, actions, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("any"))] + [(a, a) for a in actions]
