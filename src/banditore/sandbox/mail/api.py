"""The mail sink's control API under /_sandbox/mail/, and `add_routes` that mounts it."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import web

from banditore.sandbox.mail import events, page
from banditore.sandbox.mail.config import MailConfig
from banditore.sandbox.mail.instance import MAIL_KEY, MailSandbox
from banditore.sandbox.mail.one_click import OneClickError, click, one_click_url

PREFIX = "/_sandbox/mail"
DEFAULT_LIMIT = 100


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _error(message: str, status: int = 400) -> web.Response:
    return _json({"error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("to"), str) or not data["to"]:
        raise web.HTTPBadRequest(
            text='{"error": "\'to\' (an address) is required"}', content_type="application/json"
        )
    return data


async def messages(request: web.Request) -> web.Response:
    """?to=addr: that mailbox, oldest first. Otherwise every message, newest first."""
    mail = request.app[MAIL_KEY]
    to = request.query.get("to")
    if to:
        return _json([m.as_json() for m in mail.store.mailbox(to)])
    try:
        limit = int(request.query.get("limit", DEFAULT_LIMIT))
    except ValueError:
        return _error("'limit' must be an integer")
    newest = list(reversed(mail.store.messages))[: max(limit, 0)]
    return _json([m.as_json() for m in newest])


async def reset(request: web.Request) -> web.Response:
    request.app[MAIL_KEY].reset()
    return _json({"success": True})


async def stats(request: web.Request) -> web.Response:
    mail = request.app[MAIL_KEY]
    return _json(
        {
            **mail.store.stats,
            "mailboxes": len(mail.store.mailboxes),
            "webhooks_sent": mail.webhooks_sent,
            "smtp_host": mail.config.host,
            "smtp_port": mail.smtp_port,
        }
    )


async def _send_webhook(mail: MailSandbox, payload: dict[str, Any]) -> web.Response:
    if not mail.config.callback_url:
        return _error("no callback_url configured for mail webhooks", status=409)
    assert mail.session is not None
    try:
        # Credentials in the URL become the Authorization header, as Postmark sends them.
        async with mail.session.post(mail.config.callback_url, json=payload) as response:
            await response.read()
            status = response.status
    except aiohttp.ClientError as exc:
        return _json({"error": f"callback unreachable: {exc}", "payload": payload}, status=502)
    mail.webhooks_sent += 1
    return _json({"status": status, "payload": payload})


async def bounce(request: web.Request) -> web.Response:
    mail = request.app[MAIL_KEY]
    data = await _body(request)
    kind = data.get("kind", "hard")
    if kind not in ("hard", "soft"):
        return _error("'kind' must be 'hard' or 'soft'")
    payload = events.bounce(
        next(mail.event_ids),
        mail.config.server_id,
        data["to"],
        kind,
        mail.store.latest(data["to"]),
        data.get("message_id"),
    )
    return await _send_webhook(mail, payload)


async def complaint(request: web.Request) -> web.Response:
    mail = request.app[MAIL_KEY]
    data = await _body(request)
    payload = events.complaint(
        next(mail.event_ids),
        mail.config.server_id,
        data["to"],
        mail.store.latest(data["to"]),
        data.get("message_id"),
    )
    return await _send_webhook(mail, payload)


async def delivery(request: web.Request) -> web.Response:
    mail = request.app[MAIL_KEY]
    data = await _body(request)
    payload = events.delivery(
        mail.config.server_id, data["to"], mail.store.latest(data["to"]), data.get("message_id")
    )
    return await _send_webhook(mail, payload)


async def open_(request: web.Request) -> web.Response:
    mail = request.app[MAIL_KEY]
    data = await _body(request)
    payload = events.open_(data["to"], mail.store.latest(data["to"]), data.get("message_id"))
    return await _send_webhook(mail, payload)


async def unsubscribe_click(request: web.Request) -> web.Response:
    mail = request.app[MAIL_KEY]
    data = await _body(request)
    message = mail.store.latest(data["to"])
    if message is None:
        return _error("nessun messaggio per questo indirizzo", status=404)
    try:
        url = one_click_url(message)
    except OneClickError as exc:
        return _error(str(exc), status=422)
    assert mail.session is not None
    try:
        status = await click(mail.session, url)
    except aiohttp.ClientError as exc:
        return _json({"error": f"unsubscribe URL unreachable: {exc}", "url": url}, status=502)
    return _json({"url": url, "status": status, "message_id": message.message_id})


def add_routes(app: web.Application, config: MailConfig | None = None) -> MailSandbox:
    """Mount the mail sink on `app`: its SMTP server starts and stops with the app."""
    mail = MailSandbox(config or MailConfig())
    app[MAIL_KEY] = mail

    async def start(_: web.Application) -> None:
        await mail.start()

    async def stop(_: web.Application) -> None:
        await mail.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)

    app.router.add_get(PREFIX + "/", page.index)
    app.router.add_get(PREFIX + "/messages", messages)
    app.router.add_get(PREFIX + "/stats", stats)
    app.router.add_post(PREFIX + "/reset", reset)
    app.router.add_post(PREFIX + "/bounce", bounce)
    app.router.add_post(PREFIX + "/complaint", complaint)
    app.router.add_post(PREFIX + "/delivery", delivery)
    app.router.add_post(PREFIX + "/open", open_)
    app.router.add_post(PREFIX + "/unsubscribe-click", unsubscribe_click)
    return mail
