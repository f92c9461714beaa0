"""Telegram's side of the webhook contract: the secret header and the Update format.

Telegram has no subscription check (setWebhook registers the URL) and no signature: each
POST carries the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token. An Update
doesn't name the bot it was sent to, so every item names no account ("") and goes to the
channel whose URL, /webhooks/telegram/<channel-id>, received it and whose secret it
carried (webhooks/routing.py); a bot's secret speaks for that bot alone (`shares_sender`).
Telegram sends no delivery receipts: there are no StatusItems.
"""

import hmac
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from banditore.channels.base import MalformedWebhook, MessageItem, StopItem
from banditore.channels.telegram.config import TelegramConfig
from banditore.channels.whatsapp.webhooks import clean_text

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Routed to the receiving URL's channel (see the module's docstring).
ACCOUNT = ""
# A message's content, as Telegram names its field: the first one present is its type.
CONTENT = (
    "text",
    "photo",
    "document",
    "sticker",
    "voice",
    "video",
    "video_note",
    "audio",
    "animation",
    "location",
    "contact",
    "poll",
)


class Chat(BaseModel):
    id: int
    type: str


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    message_id: int
    chat: Chat
    date: int | None = None
    text: str | None = None
    caption: str | None = None


class Member(BaseModel):
    status: str


class MemberUpdate(BaseModel):
    chat: Chat
    date: int | None = None
    new_chat_member: Member
    old_chat_member: Member | None = None


class Update(BaseModel):
    update_id: int
    message: dict | None = None
    my_chat_member: dict | None = None


def moment(seconds: int | None) -> datetime | None:
    """Telegram's unix-seconds date; None if missing or absurd, never the epoch (a "0"
    would make a command older than every other one)."""
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name in any case (aiohttp's headers are case-insensitive, a dict isn't)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


class TelegramWebhooks:
    def handshake(self, config: TelegramConfig, params: Mapping[str, str]) -> str | None:
        # Telegram never checks a URL with a GET: any GET is someone else's.
        return None

    def verify(self, config: TelegramConfig, body: bytes, headers: Mapping[str, str]) -> bool:
        given = header(headers, SECRET_HEADER)
        if not given or not config.webhook_secret:
            return False
        # Constant time, so the secret can't be guessed one character at a time; as bytes,
        # a header in another script is just wrong, not an exception.
        return hmac.compare_digest(
            config.webhook_secret.encode(), given.encode("utf-8", "surrogateescape")
        )

    def shares_sender(self, verified: TelegramConfig, other: TelegramConfig) -> bool:
        # Each bot has its own secret and URL: a body never speaks for another channel.
        return False

    def sender_address(self, sender: str) -> str | None:
        # A private chat's id is the user's: a positive integer (52 bits today).
        return sender if sender.isascii() and sender.isdigit() and len(sender) <= 16 else None

    def parse(self, body: bytes) -> list[MessageItem | StopItem]:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise MalformedWebhook(f"not JSON: {type(exc).__name__}") from None
        try:
            update = Update.model_validate(data)
        except (ValidationError, RecursionError) as exc:
            raise MalformedWebhook(f"not an update: {exc}"[:500]) from None
        try:
            if update.message is not None:
                return _message(Message.model_validate(update.message))
            if update.my_chat_member is not None:
                member = MemberUpdate.model_validate(update.my_chat_member)
                return _membership(member, update.update_id)
        except (ValidationError, RecursionError, ValueError, TypeError) as exc:
            # One update is one item: drop it (logged) and acknowledge, as WhatsApp's items.
            log.warning("unreadable Telegram update %s dropped: %s", update.update_id, exc)
        return []


def _message(message: Message) -> list[MessageItem]:
    if message.chat.type != "private":
        return []  # groups and channels the bot may sit in are not citizens writing to it
    present = message.model_extra or {}
    kind = "text" if message.text is not None else next((k for k in CONTENT if k in present), "")
    item = MessageItem(
        account=ACCOUNT,
        # Telegram numbers messages per chat: the chat makes the id unique for this bot.
        provider_id=f"tg:{message.chat.id}:{message.message_id}",
        sender=str(message.chat.id),
        at=moment(message.date),
        text=clean_text(message.text if message.text is not None else message.caption or ""),
        type=kind or "unknown",
    )
    return [item]


def _membership(update: MemberUpdate, update_id: int) -> list[StopItem]:
    # "kicked" in a private chat is the citizen blocking the bot: Telegram's own "stop".
    # Unblocking says nothing yet; the citizen's next message does.
    if update.chat.type != "private" or update.new_chat_member.status != "kicked":
        return []
    # The update's own words, without the citizen's name: enough to prove who said stop.
    evidence = {
        "update_id": update_id,
        "my_chat_member": update.new_chat_member.status,
        "old_status": update.old_chat_member.status if update.old_chat_member else "",
        "date": update.date,
    }
    return [StopItem(ACCOUNT, str(update.chat.id), moment(update.date), evidence)]


READER = TelegramWebhooks()
