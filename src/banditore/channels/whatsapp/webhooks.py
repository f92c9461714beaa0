"""WhatsApp's side of the webhook contract: Meta's handshake, signature and body format.

`READER` turns a verified body into kind-free items (channels/base.py), so the webhook
processing never reads Meta's JSON. Each item names the phone-number id its entry was
addressed to, which is how one callback URL can serve several comuni behind one Meta app.
"""

import hmac
import json
import logging
from collections.abc import Mapping

from pydantic import ValidationError

from banditore.channels.base import (
    MalformedWebhook,
    MessageItem,
    SendError,
    StatusItem,
    StopItem,
    TemplateItem,
)
from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.errors import classify
from banditore.channels.whatsapp.payloads import (
    Message,
    Notification,
    Status,
    UserPreference,
    moment,
)
from banditore.channels.whatsapp.signature import signature_ok
from banditore.core.phone import InvalidNumber, from_whatsapp_id

log = logging.getLogger(__name__)

# Meta's statuses that move a delivery; 'played', 'deleted', 'warning' move nothing.
STATUSES = {"sent", "delivered", "read", "failed"}
SIGNATURE_HEADER = "X-Hub-Signature-256"


def clean_text(text: str) -> str:
    """What a citizen wrote, storable anywhere: no NUL (PostgreSQL text can't hold it) and no
    lone surrogate (not Unicode, can't be encoded), each replaced by U+FFFD."""
    if text.isascii() and "\x00" not in text:
        return text
    text = text.replace("\x00", "\ufffd")
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _error(status: Status) -> SendError:
    if not status.errors:
        return SendError(0, "failed", classify(0))
    error = status.errors[0]
    title = clean_text(error.title or error.message or "failed")[:300]
    return SendError(error.code, title, classify(error.code))


class WhatsAppWebhooks:
    def handshake(self, config: WhatsAppConfig, params: Mapping[str, str]) -> str | None:
        """Meta's subscription check (reference §4.2): echo the challenge if the token fits."""
        expected = config.verify_token
        given = params.get("hub.verify_token") or ""
        if params.get("hub.mode") != "subscribe" or not expected or not given:
            return None
        # Constant time, so the token can't be guessed one character at a time.
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape")):
            return None
        return params.get("hub.challenge", "")

    def verify(self, config: WhatsAppConfig, body: bytes, headers: Mapping[str, str]) -> bool:
        return signature_ok(body, headers.get(SIGNATURE_HEADER), config.app_secret)

    def shares_sender(self, verified: WhatsAppConfig, other: WhatsAppConfig) -> bool:
        """May a body verified with `verified`'s credentials speak for `other`'s number?

        Yes when both numbers belong to the same Meta app (the same app secret): Meta signs
        every number's webhooks with that app's secret, to the one callback URL it knows.
        """
        return bool(verified.app_secret) and hmac.compare_digest(
            verified.app_secret.encode(), other.app_secret.encode()
        )

    def sender_address(self, sender: str) -> str | None:
        try:
            return from_whatsapp_id(sender)
        except InvalidNumber:
            # Usernames without a shared number (2026) or junk: nothing we can subscribe.
            return None

    def parse(self, body: bytes) -> list[StatusItem | MessageItem | StopItem | TemplateItem]:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            # RecursionError: deeply nested arrays; the C scanner gives up, we refuse.
            raise MalformedWebhook(f"not JSON: {type(exc).__name__}") from None
        try:
            notification = Notification.model_validate(data)
        except (ValidationError, RecursionError) as exc:
            raise MalformedWebhook(f"not a notification: {exc}"[:500]) from None
        items: list[StatusItem | MessageItem | StopItem | TemplateItem] = []
        for entry in notification.entry:
            for change in entry.changes:
                value = change.value
                account = value.metadata.phone_number_id if value.metadata else ""
                if change.field == "messages":
                    items += _read(value.statuses, Status, account, _status)
                    items += _read(value.messages, Message, account, _message)
                elif change.field == "user_preferences":
                    items += _read(value.user_preferences, UserPreference, account, _stop)
                elif change.field in TEMPLATE_FIELDS:
                    item = _template_change(change.field, value, entry.id)
                    if item is not None:
                        items.append(item)
        return items


TEMPLATE_FIELDS = ("message_template_status_update", "template_category_update")


def _template_change(field: str, value, waba_id: str) -> TemplateItem | None:
    """A template's new status, or its new category (done, or announced for later)."""
    if not value.message_template_name or not value.message_template_language:
        log.warning("template webhook without a name or language dropped")
        return None
    common = {
        "account": clean_text(waba_id)[:128],
        "name": clean_text(value.message_template_name)[:512],
        "language": clean_text(value.message_template_language)[:15],
        "provider_id": clean_text(value.message_template_id)[:64],
    }
    if field == "message_template_status_update":
        if not value.event:
            return None
        reason = value.reason if value.reason not in (None, "NONE") else ""
        return TemplateItem(
            **common,
            status=clean_text(value.event).upper()[:30],
            category=clean_text(value.message_template_category).upper()[:30] or None,
            reason=clean_text(reason)[:300],
        )
    if value.previous_category:
        new = value.new_category
        reason = f"{value.previous_category} → {new}"
        return TemplateItem(**common, category=clean_text(new).upper()[:30], reason=reason)
    if value.correct_category:
        # Announced: Meta will move it to correct_category later; nothing changes yet.
        reason = f"{value.new_category} → {value.correct_category}"
        return TemplateItem(**common, impending=True, reason=clean_text(reason)[:300])
    return None


def _read(raw: list, model, account: str, make) -> list:
    """Each item on its own: one that doesn't fit is dropped (and logged), not its siblings."""
    items = []
    for element in raw:
        try:
            item = make(model.model_validate(element), account)
        except (ValidationError, RecursionError, ValueError, TypeError) as exc:
            log.warning("unreadable webhook item dropped: %s", str(exc)[:300])
            continue
        if item is not None:
            items.append(item)
    return items


def _status(status: Status, account: str) -> StatusItem | None:
    if status.status not in STATUSES:
        return None
    error = _error(status) if status.status == "failed" else None
    return StatusItem(account, status.id, status.status, moment(status.timestamp), error)


def _message(message: Message, account: str) -> MessageItem:
    return MessageItem(
        account=account,
        provider_id=message.id,
        sender=message.sender,
        at=moment(message.timestamp),
        text=clean_text(message.body),
        type=clean_text(message.type)[:20],
    )


def _stop(preference: UserPreference, account: str) -> StopItem | None:
    if preference.value != "stop":
        return None
    evidence = {"user_preferences": preference.category, "value": preference.value}
    return StopItem(account, preference.wa_id, moment(preference.timestamp), evidence)


READER = WhatsAppWebhooks()
