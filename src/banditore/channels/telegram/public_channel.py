"""Posting a broadcast to the comune's public Telegram channel, once, for its followers.

One sendMessage to the channel reaches every follower, with no receipts; what comes back
is the post's link (t.me/<name>/<id>), for the archive. Blocking (urllib): the lifecycle
calls it outside any event loop.
"""

from dataclasses import dataclass

from banditore.channels.base import SendError
from banditore.channels.telegram.client import call
from banditore.channels.telegram.config import TelegramConfig
from banditore.channels.telegram.transport import broadcast_text, message_payload


@dataclass(frozen=True)
class Post:
    """The post's link, or why there is none (error.verdict: STOP_CHANNEL = the operator
    must fix the channel or the bot's rights; RETRY = try again later)."""

    link: str = ""
    error: SendError | None = None


def post_broadcast(config: TelegramConfig, text: str, timeout: float = 10.0) -> Post:
    """Post `text` to `config.public_channel`. Never raises for provider trouble."""
    if not config.public_channel:
        raise ValueError("this channel has no public_channel to post to")
    payload = message_payload(config.public_channel, broadcast_text(text), preview=True)
    answer = call(config, "sendMessage", payload, timeout)
    if answer.error is not None:
        return Post(error=answer.error)
    return Post(link=link_of(answer.result, config.public_channel))


def link_of(message, public_channel: str) -> str:
    """t.me/<name>/<id> for a public channel; t.me/c/<id>/<id> (members only) otherwise;
    "" if the answer doesn't say (posted all the same: trying again would post it twice)."""
    if not isinstance(message, dict) or not isinstance(message.get("message_id"), int):
        return ""
    message_id = message["message_id"]
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    username = str(chat.get("username") or public_channel.removeprefix("@"))
    if not username.startswith("-100"):
        return f"https://t.me/{username}/{message_id}"
    return f"https://t.me/c/{username.removeprefix('-100')}/{message_id}"
