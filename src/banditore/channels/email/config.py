"""What an e-mail channel needs to send: the sender, and either an SMTP server (Django's SMTP
backend) or an ESP's API through django-anymail.

Credentials (smtp_password, api_key, api_secret, tracking_secret) are top-level keys so the
channel's settings encrypt them at rest like every kind's (channels/secrets.py); the ESP's
other, non-secret settings go in `esp_settings`, passed to anymail's backend as they are.
"""

from decimal import Decimal
from email.utils import formataddr
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from banditore.channels.base import http_url

SMTP = "smtp"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# anymail's ESPs, each with the backend settings its API key (and secret) go to: anymail's
# own names, so an ESP's documentation reads the same here.
ESP_CREDENTIALS: dict[str, tuple[str | None, str | None]] = {
    # boto3's credentials, in session_params (none: the machine's own AWS credentials).
    "amazon_ses": ("aws_access_key_id", "aws_secret_access_key"),
    "brevo": ("api_key", None),
    "mailersend": ("api_token", None),
    "mailgun": ("api_key", None),
    "mailjet": ("api_key", "secret_key"),
    "mailtrap": ("api_token", None),
    "mandrill": ("api_key", None),
    "postal": ("api_key", None),
    "postmark": ("server_token", None),
    "resend": ("api_key", None),
    "scaleway": ("secret_key", None),
    "sendgrid": ("api_key", None),
    "sparkpost": ("api_key", None),
    "unisender_go": ("api_key", None),
}
# ESPs that refuse to start without the secret half as well.
NEEDS_SECRET = {"mailjet"}
# Settings that are credentials: they belong in api_key/api_secret, encrypted at rest.
SECRET_SETTINGS = {n for pair in ESP_CREDENTIALS.values() for n in pair if n} | {
    "password",
    "session_params",
    "webhook_secret",
}


def address(value: str) -> str:
    """An e-mail address as we keep it: trimmed and lower-cased (providers report addresses
    in lower case, and an account must match the same however the operator typed it)."""
    value = value.strip().lower()
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError(_("must be an e-mail address, e.g. notizie@comune.example.it")) from None
    return value


def _one_line(value: str) -> str:
    if any(c in value for c in "\r\n\x00"):
        raise ValueError(_("must be one line"))
    return value


def _no_blanks(value: str) -> str:
    # A credential pasted with a trailing newline would make every send fail.
    if not value or any(c.isspace() for c in value):
        raise ValueError(_("must be set, without spaces or line breaks"))
    return value


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_email: str
    # The name mail clients show, e.g. "Comune di Esempio".
    from_name: str = ""
    reply_to: str | None = None
    # Where a mail client's "unsubscribe" e-mail goes (List-Unsubscribe's mailto); empty =
    # reply_to, else from_email. Someone at the comune reads those: one-click is the way.
    unsubscribe_mailto: str = ""
    # "smtp" (Django's SMTP backend) or one of anymail's ESPs (ESP_CREDENTIALS).
    backend: str = SMTP
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_use_tls: bool = False
    smtp_use_ssl: bool = False
    api_key: str = ""
    api_secret: str = ""
    # The ESP's other backend settings (anymail's names: api_url, sender_domain,
    # message_stream, region_name…).
    esp_settings: dict[str, Any] = Field(default_factory=dict)
    # For the cost estimate (EUR): what the ESP bills per message.
    price_per_message: Decimal = Field(default=Decimal(0), ge=0, max_digits=12, decimal_places=6)
    # anymail's WEBHOOK_SECRET, "user:password": the basic auth the ESP's tracking webhooks
    # carry (Postmark takes it in the webhook URL). Empty: no webhook is believed.
    tracking_secret: str = ""
    # Where citizens reach this installation, for the one-click unsubscribe link; empty =
    # the installation's PUBLIC_URL.
    public_base_url: str = ""
    # SMTP connections (or ESP sessions) kept open at once, each sending one message at a time.
    max_connections: int = Field(default=2, ge=1, le=16)

    @field_validator("from_email")
    @classmethod
    def _from(cls, value: str) -> str:
        return address(value)

    @field_validator("reply_to", "unsubscribe_mailto")
    @classmethod
    def _optional_address(cls, value: str | None) -> str | None:
        return address(value) if value else value

    @field_validator("from_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _one_line(value).strip()

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if value != SMTP and value not in ESP_CREDENTIALS:
            choices = ", ".join([SMTP, *sorted(ESP_CREDENTIALS)])
            raise ValueError(_("must be one of: %s") % choices)
        return value

    @field_validator("smtp_host", "smtp_username")
    @classmethod
    def _host(cls, value: str) -> str:
        if any(c.isspace() for c in value):
            raise ValueError(_("must be set, without spaces or line breaks"))
        return value

    @field_validator("smtp_password", "api_key", "api_secret")
    @classmethod
    def _credential(cls, value: str) -> str:
        return _no_blanks(value) if value else value

    @field_validator("tracking_secret")
    @classmethod
    def _tracking_secret(cls, value: str) -> str:
        user, colon, password = value.partition(":")
        if value and (not colon or not user or not password or any(c.isspace() for c in value)):
            raise ValueError(_("must be user:password, without spaces"))
        return value

    @field_validator("public_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value:
            return value
        if not value.isascii():
            # A List-Unsubscribe header must be ASCII: an IDN host goes in its xn-- form.
            raise ValueError(
                _("must be written in ASCII (an international domain in its xn-- form)")
            )
        return http_url(value, "https://notizie.comune.example.it")

    @field_validator("esp_settings")
    @classmethod
    def _esp_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        if set(value) & SECRET_SETTINGS:
            raise ValueError(_("credentials go in api_key and api_secret, not in esp_settings"))
        return value

    @model_validator(mode="after")
    def _backend_needs(self):
        if self.backend == SMTP:
            if not self.smtp_host:
                raise ValueError(_("smtp_host is required when backend is smtp"))
            if self.smtp_use_tls and self.smtp_use_ssl:
                raise ValueError(_("smtp_use_tls and smtp_use_ssl can't both be on"))
        elif self.backend != "amazon_ses":
            if not self.api_key:
                raise ValueError(_("api_key is required for %s") % self.backend)
            if self.backend in NEEDS_SECRET and not self.api_secret:
                raise ValueError(_("api_secret is required for %s") % self.backend)
        return self

    @property
    def sender(self) -> str:
        """The From header: the name (encoded when it isn't ASCII) and the address."""
        if not self.from_name:
            return self.from_email
        return formataddr((self.from_name, self.from_email), charset="utf-8")

    @property
    def mailto(self) -> str:
        return self.unsubscribe_mailto or self.reply_to or self.from_email

    def connection_settings(self, timeout: float) -> tuple[str, dict[str, Any]]:
        """The backend's dotted path and the keyword arguments for get_connection: every
        setting explicit, so nothing falls back to the installation's EMAIL_* settings."""
        if self.backend == SMTP:
            return SMTP_BACKEND, {
                "host": self.smtp_host,
                "port": self.smtp_port,
                "username": self.smtp_username,
                "password": self.smtp_password,
                "use_tls": self.smtp_use_tls,
                "use_ssl": self.smtp_use_ssl,
                "timeout": timeout,
            }
        key_name, secret_name = ESP_CREDENTIALS[self.backend]
        settings = dict(self.esp_settings)
        if self.backend == "amazon_ses":
            session = {}
            if self.api_key:
                session = {key_name: self.api_key, secret_name: self.api_secret}
            if "region_name" in settings:
                session["region_name"] = settings.pop("region_name")
            if session:
                settings["session_params"] = session
        else:
            settings[key_name] = self.api_key
            if secret_name and self.api_secret:
                settings[secret_name] = self.api_secret
        # requests-based ESPs take "timeout"; the others ignore it.
        settings["timeout"] = timeout
        return f"anymail.backends.{self.backend}.EmailBackend", settings
