"""Meta's webhook notifications parsed into typed models at the edge (reference §4).

Unknown fields are ignored (Meta adds fields often: usernames, BSUIDs, pricing changes);
missing optional ones default. Timestamps arrive as strings in messages and statuses and as
ints elsewhere, so numbers are accepted where a string is expected.

The envelope (object, entry, changes) is validated whole; the items inside a change
(statuses, messages, preferences) stay raw here and are validated one by one by the reader,
so one unreadable item can't make its siblings unreadable too.
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def moment(timestamp: str | None) -> datetime | None:
    """Meta's unix-seconds timestamp as an aware datetime; None if missing or unreadable.

    Never the epoch: a missing "0" would make a command older than every other one.
    """
    try:
        seconds = int(timestamp)
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, populate_by_name=True)


class WebhookError(_Model):
    code: int
    title: str = ""
    message: str = ""


class Status(_Model):
    id: str
    status: str
    timestamp: str | None = None
    recipient_id: str = ""
    errors: list[WebhookError] = []


class TextBody(_Model):
    body: str = ""


class ButtonBody(_Model):
    text: str = ""
    payload: str = ""


class Reply(_Model):
    id: str = ""
    title: str = ""


class InteractiveBody(_Model):
    type: str = ""
    button_reply: Reply | None = None
    list_reply: Reply | None = None


class Message(_Model):
    sender: str = Field(default="", alias="from")
    id: str
    timestamp: str | None = None
    type: str = "unknown"
    text: TextBody | None = None
    button: ButtonBody | None = None
    interactive: InteractiveBody | None = None

    @property
    def body(self) -> str:
        """The words the citizen sent, whatever the message type carried them in."""
        if self.text is not None:
            return self.text.body
        if self.button is not None:
            return self.button.text or self.button.payload
        if self.interactive is not None:
            reply = self.interactive.button_reply or self.interactive.list_reply
            return reply.title if reply else ""
        return ""


class Metadata(_Model):
    display_phone_number: str = ""
    phone_number_id: str = ""


class UserPreference(_Model):
    wa_id: str = ""
    category: str = ""
    value: str = ""
    timestamp: str | None = None


class Value(_Model):
    messaging_product: str = ""
    metadata: Metadata | None = None
    statuses: list[Any] = []
    messages: list[Any] = []
    user_preferences: list[Any] = []
    # message_template_status_update and template_category_update (reference §4.6).
    event: str = ""
    message_template_id: str = ""
    message_template_name: str = ""
    message_template_language: str = ""
    message_template_category: str = ""
    reason: str | None = None
    new_category: str = ""
    previous_category: str = ""
    correct_category: str = ""


class Change(_Model):
    field: str
    value: Value


class Entry(_Model):
    id: str = ""
    changes: list[Change] = []


class Notification(_Model):
    object: str
    entry: list[Entry]
