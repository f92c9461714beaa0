"""The Bot API's errors, classified into what the dispatcher must do.

Telegram answers `{"ok": false, "error_code": <HTTP status>, "description": "...",
"parameters"?}`. The status alone is too coarse (a 403 is a blocked bot or a deleted
account), so the description decides among the known texts, and each known text has its
own stable code (the HTTP status times 100 plus a number) for Delivery.error_code.
"""

import json
import re
from dataclasses import dataclass

from banditore.channels.base import RECIPIENT, RETRY, STOP, Action, SendError, Verdict

TROUBLE = Verdict(Action.RETRY, provider_trouble=True)
OPTED_OUT = Verdict(Action.OPTED_OUT)

# No answer at all (connection refused, reset, timeout).
NETWORK_ERROR = -1


@dataclass(frozen=True)
class Known:
    code: int
    status: int
    text: str  # a lowercase fragment of Telegram's description
    verdict: Verdict


# Sends go to citizens' private chats, and to the comune's public channel. A broadcast's
# text is the same for every citizen, so an error about the text would fail for all of
# them: those stop the channel (retrying would burn the list) and the operator fixes it.
KNOWN = (
    # The citizen blocked the bot: Telegram's own "stop", an unsubscribe with its proof.
    Known(40301, 403, "bot was blocked by the user", OPTED_OUT),
    # The account was deleted: nobody will read this chat again.
    Known(40302, 403, "user is deactivated", RECIPIENT),
    # The user never started the bot (or the id is not a user's): only they can open it.
    Known(40303, 403, "bot can't initiate conversation", RECIPIENT),
    Known(40304, 403, "bot can't send messages to bots", RECIPIENT),
    # The public channel threw the bot out or never made it an admin: the operator's fix.
    Known(40305, 403, "bot is not a member", STOP),
    Known(40306, 403, "bot was kicked", STOP),
    # A chat the bot can't see: this citizen's id is wrong or gone.
    Known(40001, 400, "chat not found", RECIPIENT),
    Known(40002, 400, "user not found", RECIPIENT),
    Known(40003, 400, "peer_id_invalid", RECIPIENT),
    # An erased citizen's blanked number: this row only.
    Known(40004, 400, "chat_id is empty", RECIPIENT),
    # The text itself: the same for everyone.
    Known(40005, 400, "message is too long", STOP),
    Known(40006, 400, "can't parse entities", STOP),
    Known(40007, 400, "message text is empty", STOP),
    # The bot lacks the right to post in the public channel.
    Known(40008, 400, "not enough rights", STOP),
    Known(40009, 400, "need administrator rights", STOP),
    # A broadcast's file or its caption, the same for everyone (media.py has already tried
    # the document instead of the photo, or a fresh upload instead of the file_id).
    Known(40010, 400, "message caption is too long", STOP),
    Known(40011, 400, "wrong file identifier", STOP),
    Known(40012, 400, "image_process_failed", STOP),
    Known(40013, 400, "photo_invalid_dimensions", STOP),
    Known(40014, 400, "file is too big", STOP),
    Known(41301, 413, "request entity too large", STOP),
)


def classify(status: int, description: str, retry_after: float | None = None) -> SendError:
    """What to do about one error answer."""
    text = description.lower()
    for known in KNOWN:
        if known.status == status and known.text in text:
            return SendError(known.code, description[:300], known.verdict)
    return SendError(status, description[:300], _by_status(status, retry_after))


def _by_status(status: int, retry_after: float | None) -> Verdict:
    if status == 429:
        # Flood control: Telegram says how long; the whole bot slows down, not one message.
        return Verdict(Action.RETRY, retry_after=retry_after, throttle_channel=True)
    if status in (401, 404):
        # Unauthorized (a revoked token) or Not Found (a malformed one): every send fails.
        return STOP
    if status == 403:
        # Every 403 on a private chat says the bot may not write to this citizen.
        return RECIPIENT
    if status >= 500:
        return TROUBLE
    # Anything else (an unknown 400): retry, bounded by the dispatcher's attempt limit, as
    # for WhatsApp's unknown codes; pausing every comune's sends for one odd answer is worse.
    return RETRY


def network_error(exc: BaseException) -> SendError:
    # The message may or may not have been accepted; the caller retries (at-least-once).
    return SendError(NETWORK_ERROR, f"{type(exc).__name__}: {exc}"[:300], TROUBLE)


def parse_error(status: int, body: bytes) -> SendError:
    """Read Telegram's error answer; tolerate anything a proxy or a broken server sends."""
    try:
        data = json.loads(body)
        description = str(data["description"])
        parameters = data.get("parameters") or {}
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        snippet = body[:200].decode("utf-8", "replace")
        return classify(status, f"HTTP {status}: {snippet}")
    if not isinstance(retry_after, int | float) or isinstance(retry_after, bool):
        retry_after = _retry_in_text(description) if status == 429 else None
    return classify(status, description, float(retry_after) if retry_after else None)


def _retry_in_text(description: str) -> float | None:
    # "Too Many Requests: retry after 7", when parameters went missing.
    found = re.search(r"retry after (\d+)", description)
    return float(found.group(1)) if found else None
