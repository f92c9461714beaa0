"""The Bot API: `GET|POST /bot<token>/<method>`, parameters from the query string, a JSON
body, a form or multipart, answers in Telegram's `{"ok": …}` envelope with its HTTP status.

Checks run in Telegram's order as far as it shows: token (401), method (404), the chat
(400 chat not found, 403 blocked/deactivated), the content (400), then the flood limits
(429). A refused send takes no token from the limits and records nothing.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiDict

from banditore.sandbox.telegram import entities, media
from banditore.sandbox.telegram.config import BotConfig, ChannelConfig
from banditore.sandbox.telegram.limits import retry_after
from banditore.sandbox.telegram.state import (
    TELEGRAM_KEY,
    Citizen,
    TelegramSandbox,
    bot_user,
    channel_chat,
)
from banditore.sandbox.telegram.updates import Webhook

MAX_TEXT = 4096
MAX_CAPTION = 1024
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


@dataclass
class Call:
    sandbox: TelegramSandbox
    bot: BotConfig
    params: dict[str, Any]
    files: dict[str, web.FileField] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        return None if value is None else str(value)

    def flag(self, name: str) -> bool:
        value = self.params.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def integer(self, name: str, default: int) -> int:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def string_list(self, name: str) -> list[str] | None:
        value = self.params.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON array") from None
        if not isinstance(value, list):
            raise bad_request(f"can't parse {name} JSON array")
        return [str(item) for item in value]


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, web.FileField]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, web.FileField] = {}
    if request.content_type == "application/json":
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form: MultiDict[Any] = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = value
            else:
                params[key] = value
    return params, files


def envelope_error(error: ApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.code,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)


async def bot_method(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    try:
        bot = sandbox.bots.get(request.match_info["token"])
        if bot is None:
            sandbox.stats["unauthorized_401"] += 1
            raise ApiError(401, "Unauthorized")
        handler = METHODS.get(request.match_info["method"].lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        params, files = await read_params(request)
        result = await handler(Call(sandbox, bot, params, files))
    except ApiError as error:
        if error.code == 400:
            sandbox.stats["bad_requests_400"] += 1
        elif error.code == 403:
            sandbox.stats["forbidden_403"] += 1
        elif error.code == 429:
            sandbox.stats["rate_limited_429"] += 1
        return envelope_error(error)
    if isinstance(result, tuple):  # (result, description), as setWebhook answers
        return web.json_response({"ok": True, "result": result[0], "description": result[1]})
    return web.json_response({"ok": True, "result": result})


# Chats.


@dataclass
class Target:
    chat: dict[str, Any]
    chat_id: int
    channel: ChannelConfig | None = None


def resolve_chat(call: Call) -> Target:
    raw = call.params.get("chat_id")
    if raw is None or str(raw).strip() == "":
        raise bad_request("chat_id is empty")
    text = str(raw).strip()
    channel = call.sandbox.channel(text)
    if channel is not None:
        return Target(channel_chat(channel), channel.id, channel)
    try:
        chat_id = int(text)
    except ValueError:
        raise bad_request("chat not found") from None
    citizen = call.sandbox.citizens.get(chat_id)
    status = citizen.status.get(call.bot.id) if citizen else None
    if citizen is None or status is None:
        # A user who never wrote to the bot is no chat the bot can see.
        raise bad_request("chat not found")
    if citizen.deactivated:
        raise ApiError(403, "Forbidden: user is deactivated")
    if status == "kicked":
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return Target(citizen.chat(), chat_id)


def formatted(call: Call, name: str, limit: int, too_long: str) -> tuple[str, list[Any]]:
    parse_mode = call.text("parse_mode")
    source = call.text(name) or ""
    try:
        plain, found = entities.parse(source, parse_mode)
    except KeyError:
        raise bad_request("unsupported parse_mode") from None
    except entities.EntityError as error:
        raise bad_request(f"can't parse entities: {error}") from None
    if len(plain) > limit:
        raise bad_request(too_long)
    explicit = call.params.get(f"{name}_entities" if name == "caption" else "entities")
    if explicit and not parse_mode:
        found = json_param(explicit, "can't parse entities JSON object")
    return plain, found


def json_param(value: Any, refusal: str) -> Any:
    """A parameter that is JSON inside a form or query string, or already parsed in a body."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise bad_request(refusal) from None


def reply_markup(call: Call) -> Any:
    markup = call.params.get("reply_markup")
    return json_param(markup, "can't parse reply keyboard markup JSON object") if markup else None


def check_limits(call: Call, target: Target) -> None:
    reply_markup(call)  # refused before it costs a token
    if not call.sandbox.config.limits.enabled:
        return
    wait = call.sandbox.limits.take(call.bot.id, target.chat_id, target.channel is not None)
    if wait > 0:
        seconds = retry_after(wait)
        raise ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


def deliver(call: Call, target: Target, content: dict[str, Any], record: dict[str, Any]) -> dict:
    """Build the Message Telegram answers with and record it for the control API."""
    sandbox, bot = call.sandbox, call.bot
    # A channel numbers its posts whichever bot makes them; a private chat is one bot's.
    numbering = 0 if target.channel is not None else bot.id
    message: dict[str, Any] = {"message_id": sandbox.next_message_id(numbering, target.chat_id)}
    if target.channel is not None:
        message["sender_chat"] = target.chat
    else:
        message["from"] = bot_user(bot)
    message["chat"] = target.chat
    message["date"] = int(time.time())
    message.update(content)
    markup = reply_markup(call)
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup  # Telegram echoes only inline keyboards
    extra = {
        "bot": bot.username,
        "parse_mode": call.text("parse_mode"),
        "disable_notification": call.flag("disable_notification"),
        **record,
    }
    if target.channel is not None:
        extra["followers"] = target.channel.followers
        sandbox.stats["channel_posts"] += 1
    sandbox.record(bot.id, target.chat_id, message, **extra)
    sandbox.stats["sent"] += 1
    sandbox.note_send(bot.id)
    return message


# Methods.


async def get_me(call: Call) -> dict[str, Any]:
    bot = call.bot
    return {
        **bot_user(bot),
        "can_join_groups": bot.can_join_groups,
        "can_read_all_group_messages": bot.can_read_all_group_messages,
        "supports_inline_queries": bot.supports_inline_queries,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def send_message(call: Call) -> dict[str, Any]:
    target = resolve_chat(call)
    if not (call.text("text") or "").strip():
        raise bad_request("message text is empty")
    text, found = formatted(call, "text", MAX_TEXT, "message is too long")
    if not text.strip():
        raise bad_request("message text is empty")
    check_limits(call, target)
    content: dict[str, Any] = {"text": text}
    if found:
        content["entities"] = found
    return deliver(call, target, content, {"type": "text", "text": text})


def media_file(call: Call, kind: str) -> dict[str, Any]:
    """The file named by the `kind` parameter: an upload (the part itself or attach://),
    an http(s) URL, or a file_id this bot was given before."""
    upload = call.files.get(kind)
    value = call.text(kind)
    if upload is None and value and value.startswith("attach://"):
        upload = call.files.get(value.removeprefix("attach://"))
    if upload is not None:
        data = upload.file.read()
        name = upload.filename or kind
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind == "photo":
            if len(data) > media.MAX_PHOTO_BYTES:
                raise bad_request("file is too big")
            size = media.image_size(data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            return call.sandbox.store_file(
                kind, file_size=len(data), width=size[0], height=size[1], file_name=name
            )
        if len(data) > media.MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        return call.sandbox.store_file(kind, file_size=len(data), file_name=name, mime_type=mime)
    if not value:
        raise bad_request(f"there is no {kind} in the request")
    if value.startswith(("http://", "https://")):
        name = value.rstrip("/").rsplit("/", 1)[-1] or kind
        if kind == "photo":
            width, height = media.URL_PHOTO_SIZE
            return call.sandbox.store_file(
                kind, file_size=0, width=width, height=height, file_name=name, url=value
            )
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return call.sandbox.store_file(kind, file_size=0, file_name=name, mime_type=mime, url=value)
    stored = call.sandbox.files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored["kind"] != kind:
        raise bad_request(f"can't use file of type {stored['kind'].title()} as {kind.title()}")
    return stored


async def send_photo(call: Call) -> dict[str, Any]:
    return await send_media(call, "photo")


async def send_document(call: Call) -> dict[str, Any]:
    return await send_media(call, "document")


async def send_media(call: Call, kind: str) -> dict[str, Any]:
    target = resolve_chat(call)
    stored = media_file(call, kind)
    caption, found = formatted(call, "caption", MAX_CAPTION, "message caption is too long")
    check_limits(call, target)
    content: dict[str, Any] = {}
    if kind == "photo":
        meta = {k: v for k, v in stored.items() if k not in ("kind", "file_id", "file_unique_id")}
        thumbnail = call.sandbox.store_file("photo", **meta)
        content["photo"] = media.photo_sizes(
            stored, thumbnail["file_id"], thumbnail["file_unique_id"]
        )
    else:
        content["document"] = {
            "file_name": stored["file_name"],
            "mime_type": stored["mime_type"],
            "file_id": stored["file_id"],
            "file_unique_id": stored["file_unique_id"],
            "file_size": stored["file_size"],
        }
    if caption:
        content["caption"] = caption
        if found:
            content["caption_entities"] = found
    record = {
        "type": kind,
        "caption": caption,
        "file_id": stored["file_id"],
        "file_name": stored.get("file_name"),
        "url": stored.get("url"),
    }
    return deliver(call, target, content, record)


async def set_webhook(call: Call) -> tuple[bool, str]:
    url = call.text("url") or ""
    if not url:
        return await delete_webhook(call)
    if not url.startswith(("http://", "https://")):
        # Telegram insists on https; the sandbox also takes http for local receivers.
        raise bad_request("bad webhook: HTTPS url must be provided for webhook")
    secret = call.text("secret_token")
    if secret is not None and not SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    queue = call.sandbox.queues[call.bot.id]
    allowed = call.string_list("allowed_updates")
    if call.flag("drop_pending_updates"):
        queue.drop_pending()
    webhook = Webhook(
        url=url,
        secret_token=secret or None,
        max_connections=call.integer("max_connections", 40),
        allowed_updates=allowed,
    )
    already = queue.webhook is not None and (queue.webhook.url, queue.webhook.secret_token) == (
        webhook.url,
        webhook.secret_token,
    )
    if allowed is not None:
        queue.allowed_updates = allowed
    queue.webhook = webhook
    call.sandbox.sender.watch(call.bot.id, queue)
    return True, "Webhook is already set" if already else "Webhook was set"


async def delete_webhook(call: Call) -> tuple[bool, str]:
    queue = call.sandbox.queues[call.bot.id]
    if call.flag("drop_pending_updates"):
        queue.drop_pending()
    had = queue.webhook is not None
    queue.webhook = None
    await call.sandbox.sender.forget(call.bot.id)
    return True, "Webhook was deleted" if had else "Webhook is already deleted"


async def get_webhook_info(call: Call) -> dict[str, Any]:
    queue = call.sandbox.queues[call.bot.id]
    webhook = queue.webhook
    info: dict[str, Any] = {
        "url": webhook.url if webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(queue.pending),
    }
    if webhook is not None:
        if webhook.last_error_date is not None:
            info["last_error_date"] = webhook.last_error_date
            info["last_error_message"] = webhook.last_error_message
        info["max_connections"] = webhook.max_connections
        info["ip_address"] = webhook.ip_address
        if webhook.allowed_updates is not None:
            info["allowed_updates"] = webhook.allowed_updates
    return info


async def get_updates(call: Call) -> list[dict[str, Any]]:
    queue = call.sandbox.queues[call.bot.id]
    if queue.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = call.params.get("offset")
    offset = None if offset in (None, "") else call.integer("offset", 0)
    limit = min(max(call.integer("limit", 100), 1), 100)
    timeout = min(max(call.integer("timeout", 0), 0), call.sandbox.config.max_poll_timeout_s)
    allowed = call.string_list("allowed_updates")
    if allowed is not None:
        queue.allowed_updates = allowed
    updates = queue.take(offset, limit)
    deadline = time.monotonic() + timeout
    while not updates and time.monotonic() < deadline:
        queue.arrived.clear()
        try:
            await asyncio.wait_for(queue.arrived.wait(), deadline - time.monotonic())
        except TimeoutError:
            break
        updates = queue.take(offset, limit)
    return updates


async def get_chat(call: Call) -> dict[str, Any]:
    target = resolve_chat_for_reading(call)
    return {**target.chat, "accent_color_id": 0, "max_reaction_count": 11}


async def get_chat_member_count(call: Call) -> int:
    target = resolve_chat_for_reading(call)
    return target.channel.followers + 1 if target.channel else 2  # the bot counts too


def resolve_chat_for_reading(call: Call) -> Target:
    """Like a send, but a bot still sees a chat whose user blocked it."""
    raw = str(call.params.get("chat_id") or "").strip()
    channel = call.sandbox.channel(raw) if raw else None
    if channel is not None:
        return Target(channel_chat(channel), channel.id, channel)
    citizen: Citizen | None = None
    if raw.lstrip("-").isdigit():
        citizen = call.sandbox.citizens.get(int(raw))
    if citizen is None or call.bot.id not in citizen.status:
        raise bad_request("chat not found")
    return Target(citizen.chat(), citizen.id)


METHODS: dict[str, Callable[[Call], Awaitable[Any]]] = {
    "getme": get_me,
    "sendmessage": send_message,
    "sendphoto": send_photo,
    "senddocument": send_document,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "getupdates": get_updates,
    "getchat": get_chat,
    "getchatmembercount": get_chat_member_count,
}
