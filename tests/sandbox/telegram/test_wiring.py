"""The emulator composes with the WhatsApp sandbox's app and stays free of Django."""

from __future__ import annotations

import subprocess
import sys

import aiohttp

from banditore.sandbox.app import build_app
from banditore.sandbox.config import SandboxConfig

from .harness import TOKEN, run, serving


def test_importing_the_telegram_emulator_imports_no_django() -> None:
    probe = "import sys, banditore.sandbox.telegram; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@run
async def test_it_serves_beside_the_whatsapp_routes_on_one_app() -> None:
    # build_app mounts the Telegram emulator itself.
    async with serving(build_app(SandboxConfig())) as url, aiohttp.ClientSession() as session:
        async with session.get(f"{url}/bot{TOKEN}/getMe") as r:
            assert r.status == 200 and (await r.json())["result"]["username"] == "ComuneBot"
        async with session.get(f"{url}/_sandbox/telegram/stats") as r:
            assert r.status == 200
        async with session.get(f"{url}/_sandbox/stats") as r:
            assert r.status == 200  # WhatsApp's control API still answers
