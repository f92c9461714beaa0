"""What a Telegram channel needs to talk to the Bot API (or to the sandbox)."""

import re

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from banditore.channels.base import http_url

API_URL = "https://api.telegram.org"
SANDBOX_URL = "http://127.0.0.1:8650"

# BotFather's tokens: the bot's numeric id, a colon, then the secret part.
TOKEN = re.compile(r"(\d{1,20}):[A-Za-z0-9_-]{1,128}")
# setWebhook's rule for secret_token (Bot API): 1-256 of these characters.
SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Telegram usernames: 5-32 characters, a letter first; a bot's ends in "bot".
USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
CHANNEL_ID = re.compile(r"-100\d{1,16}")


class TelegramConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # https://api.telegram.org in production; the sandbox's URL for trials and tests.
    api_base_url: str = API_URL
    bot_token: str
    # The token's prefix, filled in from it when missing: items and sends are told apart
    # by bot, and two channels must never share one.
    bot_id: int
    # Without the "@": t.me/<bot_username> is where a citizen starts the chat.
    bot_username: str
    webhook_secret: str
    # Where a broadcast may also be posted: "@name" or a "-100…" id; "" = nowhere.
    public_channel: str = ""

    @model_validator(mode="before")
    @classmethod
    def _bot_id_from_token(cls, data):
        if isinstance(data, dict) and data.get("bot_id") in (None, ""):
            match = TOKEN.fullmatch(str(data.get("bot_token") or "").strip())
            if match:
                data = {**data, "bot_id": int(match.group(1))}
        return data

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value, "https://api.telegram.org")

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: str) -> str:
        # A token pasted with a trailing newline would make every send fail.
        if not TOKEN.fullmatch(value):
            raise ValueError(_("must be the token BotFather gave, e.g. 123456789:AAE…"))
        return value

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str) -> str:
        value = value.removeprefix("@")
        if not USERNAME.fullmatch(value) or not value.lower().endswith("bot"):
            raise ValueError(_("must be the bot's username, e.g. ComuneDiEsempioBot"))
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if not SECRET.fullmatch(value):
            raise ValueError(_("must be 1 to 256 letters, digits, '_' or '-'"))
        return value

    @field_validator("public_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value and not (
            (value.startswith("@") and USERNAME.fullmatch(value[1:])) or CHANNEL_ID.fullmatch(value)
        ):
            raise ValueError(_("must be the channel's @name or its -100… id"))
        return value

    @model_validator(mode="after")
    def _bot_id_matches(self):
        if str(self.bot_id) != self.bot_token.partition(":")[0]:
            raise ValueError(_("bot_id must be the number before the token's colon"))
        return self

    def method_url(self, method: str) -> str:
        return f"{self.api_base_url.rstrip('/')}/bot{self.bot_token}/{method}"
