"""The control API under /_sandbox/telegram/: play a citizen (write, block, unblock,
deactivate), read what chats and channels received, stats, reset, config. JSON, no token."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from banditore.sandbox.telegram.config import merge_config
from banditore.sandbox.telegram.entities import utf16_len
from banditore.sandbox.telegram.state import TELEGRAM_KEY, Citizen, TelegramSandbox, bot_user

PREFIX = "/_sandbox/telegram/"


def refuse(message: str, status: int = 400) -> web.HTTPException:
    error = web.HTTPNotFound if status == 404 else web.HTTPBadRequest
    return error(text=json.dumps({"error": message}), content_type="application/json")


async def body_of(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise refuse("il corpo non è JSON valido") from None
    if not isinstance(body, dict):
        raise refuse("il corpo deve essere un oggetto JSON")
    return body


def user_id_of(body: dict[str, Any], key: str) -> int:
    try:
        user_id = int(body[key])
    except (KeyError, TypeError, ValueError):
        raise refuse(f"manca '{key}' (l'id numerico dell'utente)") from None
    if user_id <= 0:
        raise refuse(f"'{key}' deve essere un intero positivo")
    return user_id


def bot_of(sandbox: TelegramSandbox, body: dict[str, Any]) -> Any:
    bot = sandbox.bot(body.get("bot"))
    if bot is None:
        raise refuse("bot sconosciuto", 404)
    return bot


async def inbound(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    body = await body_of(request)
    user_id = user_id_of(body, "from")
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise refuse("manca 'text'")
    bot = bot_of(sandbox, body)
    citizen = sandbox.citizen(user_id)
    for key in ("first_name", "username", "language_code"):
        if key in body:
            setattr(citizen, key, body[key])
    if citizen.deactivated:
        raise refuse("l'utente è disattivato")
    # Writing to a bot starts it; writing to a blocked bot unblocks it, as in the app.
    previous = citizen.status.get(bot.id)
    if previous == "kicked":
        _status_update(sandbox, bot, citizen, "member")
    citizen.status[bot.id] = "member"
    message: dict[str, Any] = {
        "message_id": sandbox.next_message_id(bot.id, user_id),
        "from": citizen.user(),
        "chat": citizen.chat(),
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"offset": 0, "length": utf16_len(command), "type": "bot_command"}]
    sandbox.stats["inbound"] += 1
    update = sandbox.queues[bot.id].add("message", message)
    return web.json_response(
        {
            "message_id": message["message_id"],
            "update_id": update["update_id"] if update else None,
        }
    )


def _status_update(sandbox: TelegramSandbox, bot: Any, citizen: Citizen, new: str) -> Any:
    old = citizen.status.get(bot.id, "member")
    citizen.status[bot.id] = new
    member = {"user": bot_user(bot), "status": new}
    if new == "kicked":
        member["until_date"] = 0
    payload = {
        "chat": citizen.chat(),
        "from": citizen.user(),
        "date": int(time.time()),
        "old_chat_member": {"user": bot_user(bot), "status": old},
        "new_chat_member": member,
    }
    return sandbox.queues[bot.id].add("my_chat_member", payload)


async def _membership(request: web.Request, new: str) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    body = await body_of(request)
    user_id = user_id_of(body, "user")
    bot = bot_of(sandbox, body)
    citizen = sandbox.citizens.get(user_id)
    if citizen is None or bot.id not in citizen.status:
        raise refuse("l'utente non ha mai avviato il bot", 404)
    update = None
    if citizen.status[bot.id] != new:
        update = _status_update(sandbox, bot, citizen, new)
    return web.json_response(
        {"user": user_id, "status": new, "update_id": update["update_id"] if update else None}
    )


async def block(request: web.Request) -> web.Response:
    return await _membership(request, "kicked")


async def unblock(request: web.Request) -> web.Response:
    return await _membership(request, "member")


async def deactivate(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    body = await body_of(request)
    citizen = sandbox.citizen(user_id_of(body, "user"))
    citizen.deactivated = True
    return web.json_response({"user": citizen.id, "deactivated": True})


def _view(entry: dict[str, Any]) -> dict[str, Any]:
    message = entry["message"]
    view = {
        "message_id": message["message_id"],
        "chat_id": message["chat"]["id"],
        "date": message["date"],
        **{k: v for k, v in entry.items() if k != "message" and v is not None},
    }
    if "entities" in message:
        view["entities"] = message["entities"]
    return view


async def messages(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    try:
        chat_id = int(request.query["chat_id"])
    except (KeyError, ValueError):
        raise refuse("manca 'chat_id' (intero)") from None
    bot = bot_of(sandbox, dict(request.query))
    return web.json_response([_view(e) for e in sandbox.messages.get((bot.id, chat_id), [])])


async def posts(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    channel = sandbox.channel(request.query.get("channel", ""))
    if channel is None:
        raise refuse("canale sconosciuto", 404)
    bot = bot_of(sandbox, dict(request.query))
    return web.json_response([_view(e) for e in sandbox.messages.get((bot.id, channel.id), [])])


async def stats(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    pending = {bot.username: len(sandbox.queues[bot.id].pending) for bot in sandbox.config.bots}
    return web.json_response({**sandbox.stats, "pending_updates": pending, "rate": sandbox.rates()})


async def reset(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    for bot in sandbox.config.bots:
        await sandbox.sender.forget(bot.id)
    sandbox.reset()
    return web.json_response({"reset": True})


def config_view(sandbox: TelegramSandbox) -> dict[str, Any]:
    view = sandbox.config.view()
    view["webhooks_state"] = {
        bot.username: (
            {"url": q.webhook.url, "secret_token": q.webhook.secret_token}
            if (q := sandbox.queues[bot.id]).webhook
            else None
        )
        for bot in sandbox.config.bots
    }
    return view


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(config_view(request.app[TELEGRAM_KEY]))


async def post_config(request: web.Request) -> web.Response:
    sandbox = request.app[TELEGRAM_KEY]
    body = await body_of(request)
    try:
        config = merge_config(sandbox.config, body)
    except (ValueError, TypeError, KeyError) as error:
        raise refuse(f"configurazione non valida: {error}") from None
    sandbox.apply_config(config)
    return web.json_response(config_view(sandbox))


def add_control_routes(app: web.Application) -> None:
    app.router.add_post(PREFIX + "inbound", inbound)
    app.router.add_post(PREFIX + "block", block)
    app.router.add_post(PREFIX + "unblock", unblock)
    app.router.add_post(PREFIX + "deactivate", deactivate)
    app.router.add_get(PREFIX + "messages", messages)
    app.router.add_get(PREFIX + "posts", posts)
    app.router.add_get(PREFIX + "stats", stats)
    app.router.add_post(PREFIX + "reset", reset)
    app.router.add_get(PREFIX + "config", get_config)
    app.router.add_post(PREFIX + "config", post_config)
