"""Calls to the Bot API: sends over the dispatcher's aiohttp session (JSON, or multipart
when a file goes up), and a blocking call (urllib) for the setup and the public channel,
which run outside any event loop.

The same code talks to Telegram and to the sandbox: only `api_base_url` differs.
"""

import json
import secrets
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


@dataclass(frozen=True)
class FilePart:
    """A file that goes up with the request, as the multipart part named `field`."""

    field: str  # "photo", "document"
    content: bytes
    filename: str
    mime_type: str


@dataclass(frozen=True)
class Sent:
    """A send's outcome, and the Message Telegram answered with (None unless it was sent
    and the answer could be read): a media send's file_id is in it."""

    result: SendResult
    message: dict | None = None


def _disposition_value(value: str) -> str:
    # UTF-8 as it is, as browsers write a form's file name: aiohttp's FormData percent-
    # encodes every non-ASCII byte, and a citizen would read "Ordinanza%20n%C2%B012.pdf".
    # A '"' would end the quoted string; HTML's escape for it (%22) is not one every reader
    # undoes (aiohttp's doesn't), so it becomes an apostrophe, the name's nearest reading.
    return value.replace('"', "'").replace("\r", " ").replace("\n", " ")


def multipart(fields: dict, part: FilePart) -> tuple[bytes, str]:
    """The body and its Content-Type: each field as text (JSON for what isn't a string),
    then the file."""
    boundary = f"banditore-{secrets.token_hex(16)}"
    chunks = []
    for name, value in fields.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'
        )
    chunks.append(
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{part.field}"; '
        f'filename="{_disposition_value(part.filename)}"\r\n'
        f"Content-Type: {part.mime_type}\r\n\r\n"
    )
    body = b"".join(["".join(chunks).encode(), part.content, f"\r\n--{boundary}--\r\n".encode()])
    return body, f"multipart/form-data; boundary={boundary}"


class TelegramClient:
    def __init__(self, session: aiohttp.ClientSession, config: TelegramConfig, timeout: float):
        self.session = session
        self.config = config
        self.bot_id = config.bot_id
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.urls: dict[str, str] = {}

    def url(self, method: str) -> str:
        url = self.urls.get(method)
        if url is None:
            url = self.urls[method] = self.config.method_url(method)
        return url

    async def send(self, payload: dict | bytes, method: str = "sendMessage") -> SendResult:
        """POST one send as JSON. Never raises for provider or network trouble: returns it."""
        return (await self.call(method, payload)).result

    async def call(self, method: str, payload: dict | bytes) -> Sent:
        if isinstance(payload, dict):
            data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        else:
            data = payload
        return await self._post(method, data, JSON, self.timeout)

    async def upload(self, method: str, fields: dict, part: FilePart, timeout: float) -> Sent:
        """POST one send with the file in it (multipart). `timeout`: a file of megabytes
        needs longer than a text."""
        body, content_type = multipart(fields, part)
        headers = {"Content-Type": content_type}
        return await self._post(method, body, headers, aiohttp.ClientTimeout(total=timeout))

    async def _post(self, method: str, data: bytes, headers: dict, timeout) -> Sent:
        try:
            async with self.session.post(
                self.url(method), data=data, headers=headers, timeout=timeout
            ) as response:
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Sent(SendResult(error=network_error(exc)))
        if status != 200:
            return Sent(SendResult(error=parse_error(status, body)))
        message = sent_message(body)
        if message is None:
            # Accepted, but we can't tell which message it is: retrying would send it twice.
            snippet = body[:200].decode("utf-8", "replace")
            return Sent(SendResult(provider_id="", note=f"unreadable 200 body: {snippet}"))
        chat = (message.get("chat") or {}).get("id", "")
        sent = SendResult(provider_id=provider_id(self.bot_id, chat, message["message_id"]))
        return Sent(sent, message)


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
