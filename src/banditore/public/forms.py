"""The web sign-up form: what a citizen types, checked and normalised before the service sees it."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from banditore.core.models import Organization
from banditore.core.phone import InvalidNumber, to_e164

# Anything longer is not a phone number, however it is spaced.
PHONE_MAX_LENGTH = 32
# Shown in the texts; no-break spaces keep each on one line. Kept out of the msgids:
# gettext's extractor would store the escape sequence there, not the character.
MOBILE_EXAMPLE = "333\u00a0123\u00a04567"
FOREIGN_EXAMPLE = "+41\u00a079\u00a0123\u00a045\u00a067"
# The largest id a database column holds; a bigger one is no topic's.
MAX_ID = 2**63 - 1


class TopicsField(forms.ModelMultipleChoiceField):
    """Django checks each chosen id with a lookup that knows the column's range, then fetches
    them all with one that doesn't: an id past 64 bits reached SQLite and answered 500."""

    def _check_values(self, value):
        for pk in value:
            try:
                too_big = abs(int(str(pk))) > MAX_ID
            except ValueError:
                continue  # not a number: Django's own check refuses it
            if too_big:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super()._check_values(value)


class SignupForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number with WhatsApp"),
        help_text=format_lazy(
            _(
                "For example {mobile}. From a foreign number, start with the country code, "
                "e.g. {foreign}."
            ),
            mobile=MOBILE_EXAMPLE,
            foreign=FOREIGN_EXAMPLE,
        ),
        max_length=PHONE_MAX_LENGTH,
        error_messages={
            "required": _("Enter your mobile number."),
            "max_length": _("This is too long for a phone number."),
        },
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "autocomplete": "tel",
                "inputmode": "tel",
                "spellcheck": "false",
                "class": "form-control",
            }
        ),
    )
    topics = TopicsField(
        label=_("Topics"),
        help_text=_("Tick the topics you want. If you tick none, you receive all of them."),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _("Choose the topics from the list."),
            "invalid_pk_value": _("Choose the topics from the list."),
        },
    )
    zone = forms.ModelChoiceField(
        label=_("Area where you live (optional)"),
        help_text=_("You will also get the news for that area."),
        queryset=None,
        required=False,
        empty_label=_("None (the whole comune)"),
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": _("Choose the area from the list.")},
    )
    name = forms.CharField(
        label=_("Name (optional)"),
        help_text=_("Only so the comune's staff can recognise your sign-up."),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "class": "form-control"}),
    )
    privacy = forms.BooleanField(
        # The label holds a link to the notice, so the template writes it.
        label=_("I have read the privacy notice"),
        error_messages={
            "required": _("To sign up, confirm that you have read the privacy notice.")
        },
    )
    # The honeypot: hidden from people (and from screen readers), filled in by bots.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["topics"].queryset = organization.topics.all()
        zones = organization.zones.all()
        if zones.exists():
            self.fields["zone"].queryset = zones
        else:
            del self.fields["zone"]

    def clean_phone(self) -> str:
        try:
            return to_e164(self.cleaned_data["phone"])
        except InvalidNumber:
            raise forms.ValidationError(
                _(
                    "This does not look like a valid phone number. Write it as on your phone, "
                    "e.g. %(mobile)s, or with the country code, e.g. %(foreign)s."
                ),
                code="invalid",
                params={"mobile": MOBILE_EXAMPLE, "foreign": FOREIGN_EXAMPLE},
            ) from None

    @property
    def is_bot(self) -> bool:
        """A person never sees the honeypot, so anything in it was typed by a program."""
        return bool(self.cleaned_data.get("website", "").strip())
