"""build_app mounts the sink on the WhatsApp sandbox's own app when a mail config is given."""

from __future__ import annotations

import asyncio
import smtplib

import aiohttp

from banditore.sandbox.app import build_app
from banditore.sandbox.config import SandboxConfig
from banditore.sandbox.mail import MAIL_KEY, MailConfig
from tests.sandbox.harness import run, serving
from tests.sandbox.mail.harness import news_message


def _send(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(news_message(["anna@example.it"]))


@run
async def test_the_sink_runs_beside_the_whatsapp_sandbox_and_stops_with_it():
    app = build_app(SandboxConfig(mail=MailConfig(port=0)))
    mail = app[MAIL_KEY]
    async with serving(app) as base:
        port = mail.smtp_port
        await asyncio.to_thread(_send, port)
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/_sandbox/mail/messages") as r:
                assert [m["subject"] for m in await r.json()] == ["Strada chiusa"]
            async with http.get(base + "/_sandbox/config") as r:
                assert r.status == 200  # the WhatsApp side still answers
    try:
        smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
        raise AssertionError("the SMTP port still accepts connections after cleanup")
    except ConnectionRefusedError:
        pass
