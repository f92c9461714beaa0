"""The emulator composes with the WhatsApp sandbox's app and stays free of Django."""

from __future__ import annotations

import subprocess
import sys

import aiohttp
from aiohttp import web

from banditore.sandbox.app import build_app
from banditore.sandbox.config import SandboxConfig
from banditore.sandbox.telegram import add_routes

from .harness import TOKEN, run


def test_importing_the_telegram_emulator_imports_no_django() -> None:
    probe = "import sys, banditore.sandbox.telegram; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@run
async def test_it_serves_beside_the_whatsapp_routes_on_one_app() -> None:
    app = build_app(SandboxConfig())
    add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/bot{TOKEN}/getMe") as r:
                assert r.status == 200 and (await r.json())["result"]["username"] == "ComuneBot"
            async with session.get(f"{url}/_sandbox/telegram/stats") as r:
                assert r.status == 200
            async with session.get(f"{url}/_sandbox/stats") as r:
                assert r.status == 200  # WhatsApp's control API still answers
    finally:
        await runner.cleanup()
