"""What a WhatsApp channel needs to talk to the Cloud API (or to the sandbox)."""

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator

from banditore.channels.base import http_url

SANDBOX_URL = "http://127.0.0.1:8650"


class WhatsAppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # https://graph.facebook.com in production; the sandbox's URL for trials and tests.
    base_url: str = SANDBOX_URL
    api_version: str = "v23.0"
    phone_number_id: str
    waba_id: str = ""
    display_phone_number: str = ""
    access_token: str
    app_secret: str
    verify_token: str
    # Broadcasts go out as this approved template: {{1}} = the comune's name, {{2}} = text.
    template_name: str = "banditore_notizia"
    template_language: str = "it"
    # Unique recipients per rolling 24 h outside the service window (Meta's tier).
    messaging_limit: int | None = Field(default=None, ge=1)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value, "https://graph.facebook.com")

    @field_validator("access_token", "app_secret", "verify_token", "phone_number_id")
    @classmethod
    def _no_blanks(cls, value: str) -> str:
        # A token pasted with a trailing newline would make every send raise.
        if not value or any(c.isspace() for c in value):
            raise ValueError(_("must be set, without spaces or line breaks"))
        return value

    @property
    def messages_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"
