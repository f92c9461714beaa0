"""Calls to the Bot API: sendMessage over the dispatcher's aiohttp session, and a blocking
call (urllib) for the setup and the public channel, which run outside any event loop.

The same code talks to Telegram and to the sandbox: only `api_base_url` differs.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import aiohttp

from banditore.channels.base import SendError, SendResult
from banditore.channels.telegram.config import TelegramConfig
from banditore.channels.telegram.errors import network_error, parse_error

JSON = {"Content-Type": "application/json"}


def provider_id(bot_id: int, chat_id, message_id) -> str:
    """A sent message's id, unique in the whole installation (Delivery's wamid index):
    Telegram numbers messages per chat, and chats are per bot."""
    return f"tg:{bot_id}:{chat_id}:{message_id}"


def sent_message(body: bytes) -> dict | None:
    """The Message of a 200 answer, or None if the body doesn't hold one."""
    try:
        data = json.loads(body)
        message = data["result"]
        if data.get("ok") is True and isinstance(message["message_id"], int):
            return message
    except (ValueError, KeyError, TypeError, RecursionError):
        pass
    return None


class TelegramClient:
    def __init__(self, session: aiohttp.ClientSession, config: TelegramConfig, timeout: float):
        self.session = session
        self.bot_id = config.bot_id
        self.url = config.method_url("sendMessage")
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, payload: dict | bytes) -> SendResult:
        """POST one sendMessage. Never raises for provider or network trouble: returns it."""
        if isinstance(payload, dict):
            data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        else:
            data = payload
        try:
            async with self.session.post(
                self.url, data=data, headers=JSON, timeout=self.timeout
            ) as response:
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return SendResult(error=network_error(exc))
        if status != 200:
            return SendResult(error=parse_error(status, body))
        message = sent_message(body)
        if message is None:
            # Accepted, but we can't tell which message it is: retrying would send it twice.
            snippet = body[:200].decode("utf-8", "replace")
            return SendResult(provider_id="", note=f"unreadable 200 body: {snippet}")
        chat = (message.get("chat") or {}).get("id", "")
        return SendResult(provider_id=provider_id(self.bot_id, chat, message["message_id"]))


@dataclass(frozen=True)
class Answer:
    """A blocking call's outcome: Telegram's `result`, or what went wrong."""

    result: object = None
    error: SendError | None = None


def call(config: TelegramConfig, method: str, params: dict, timeout: float = 10.0) -> Answer:
    """One Bot API call, blocking. Never raises for provider or network trouble."""
    data = json.dumps(params, ensure_ascii=False).encode()
    request = urllib.request.Request(
        config.method_url(method), data=data, headers=JSON, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        return Answer(error=network_error(exc))
    if status != 200:
        return Answer(error=parse_error(status, body))
    try:
        data = json.loads(body)
        if data.get("ok") is True and "result" in data:
            return Answer(result=data["result"])
    except (ValueError, AttributeError, RecursionError):
        pass
    return Answer(error=parse_error(status, body))
