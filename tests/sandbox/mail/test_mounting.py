"""add_routes mounts the sink on the WhatsApp sandbox's own app, as build_app will do."""

from __future__ import annotations

import asyncio
import smtplib

import aiohttp
from aiohttp import web

from banditore.sandbox.app import build_app
from banditore.sandbox.mail import MAIL_KEY, MailConfig, add_routes
from tests.sandbox.harness import run
from tests.sandbox.mail.harness import news_message


def _send(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(news_message(["anna@example.it"]))


@run
async def test_the_sink_runs_beside_the_whatsapp_sandbox_and_stops_with_it():
    app = build_app()
    mail = add_routes(app, MailConfig(port=0))
    assert app[MAIL_KEY] is mail
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    port = mail.smtp_port
    try:
        await asyncio.to_thread(_send, port)
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/_sandbox/mail/messages") as r:
                assert [m["subject"] for m in await r.json()] == ["Strada chiusa"]
            async with http.get(base + "/_sandbox/config") as r:
                assert r.status == 200  # the WhatsApp side still answers
    finally:
        await runner.cleanup()
    try:
        smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
        raise AssertionError("the SMTP port still accepts connections after cleanup")
    except ConnectionRefusedError:
        pass
