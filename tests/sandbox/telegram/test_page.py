"""The sandbox's Telegram page at /_sandbox/telegram/ (Italian first): the users that wrote
to the bot, the chosen user's state, the bot's queue, a strict Content-Security-Policy."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re

import aiohttp

from banditore.sandbox.app import build_app
from banditore.sandbox.config import SandboxConfig
from banditore.sandbox.telegram import BotConfig, TelegramConfig
from banditore.sandbox.telegram.page import USERS_SHOWN

from .harness import CITIZEN, FAST_WEBHOOKS, config, run, running_telegram, serving, update_receiver

PAGE = "/_sandbox/telegram/"


async def fetch_page(tg, query: str = "") -> tuple[int, dict, str]:
    async with tg.session.get(f"{tg.url}{PAGE}{query}", allow_redirects=False) as r:
        return r.status, dict(r.headers), await r.text()


def listed(html: str) -> list[int]:
    return [int(part.split('"', 1)[0]) for part in html.split('data-user="')[1:]]


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@run
async def test_it_serves_the_page_in_italian_under_a_policy_that_allows_only_its_own_code() -> None:
    async with running_telegram() as tg:
        status, headers, html = await fetch_page(tg)
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert '<html lang="it">' in html
        assert "Scrivi come utente" in html and "Blocca il bot" in html
        assert "Comune di Esempio (@ComuneBot)" in html
        assert "123456789:sandbox-telegram-token" in html  # to connect a bot to it
        assert "@comune_avvisi" in html
        assert "{{" not in html

        policy = headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        (script,) = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
        (style,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
        assert f"script-src {sha256(script)}" in policy
        assert f"style-src {sha256(style)}" in policy
        # Nothing from elsewhere, and no inline style attribute the policy would refuse.
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
        assert " style=" not in html and "<link" not in html
        assert headers["X-Content-Type-Options"] == "nosniff"


@run
async def test_without_the_slash_it_redirects_to_the_page() -> None:
    async with running_telegram() as tg:
        url = f"{tg.url}/_sandbox/telegram"
        async with tg.session.get(url, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == PAGE


@run
async def test_it_lists_the_users_that_started_the_bot_newest_first_with_their_state() -> None:
    async with running_telegram() as tg:
        await tg.start(1001)
        await tg.start(1002)
        await tg.start(CITIZEN)
        await tg.control("POST", "block", {"user": 1002})

        _, _, html = await fetch_page(tg, "?utente=1002")
        assert listed(html) == [CITIZEN, 1002, 1001]
        assert "3 utenti" in html
        assert 'class="user active" aria-current="true" data-user="1002"' in html
        assert "1002 · bloccato" in html
        assert 'data-status="kicked"' in html and "Hai bloccato il bot" in html
        assert 'value="1002"' in html  # the user id field keeps the chosen user

        _, _, fragment = await fetch_page(tg, "?frammento=utenti&utente=1001")
        assert "<html" not in fragment
        assert 'data-status="member"' in fragment
        _, _, fragment = await fetch_page(tg, "?frammento=utenti&utente=777")
        assert 'data-status="none"' in fragment and "scrivigli /start" in fragment
        await tg.control("POST", "deactivate", {"user": 1001})
        _, _, fragment = await fetch_page(tg, "?frammento=utenti&utente=1001")
        assert 'data-status="deactivated"' in fragment and "1001 · disattivato" in fragment


@run
async def test_names_and_searches_are_escaped_and_nonsense_ids_are_ignored() -> None:
    async with running_telegram() as tg:
        hostile = '<img src=x onerror="alert(1)">{{CONFIG}}'
        await tg.control("POST", "inbound", {"from": 5, "text": "/start", "first_name": hostile})
        _, _, html = await fetch_page(tg, "?cerca=%3Cb%3E5&utente=5%22%3E%3Cscript%3E")
        assert "<img src=x" not in html and "<b>" not in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;{{CONFIG}}" in html
        assert "con «&lt;b&gt;5»" in html
        assert listed(html) == [5]
        assert 'id="user" name="user" value=""' in html  # not a user id, so not used
        assert html.count("<script>") == 1


@run
async def test_thousands_of_users_show_the_newest_few_and_a_search_by_digits() -> None:
    async with running_telegram() as tg:
        for n in range(1, 301):
            tg.sandbox.citizen(n).status[123456789] = "member"
        _, _, fragment = await fetch_page(tg, "?frammento=utenti")
        assert listed(fragment) == list(range(300, 300 - USERS_SHOWN, -1))
        assert f"300 utenti; qui i {USERS_SHOWN} più recenti" in fragment

        _, _, fragment = await fetch_page(tg, "?frammento=utenti&cerca=1 2")
        assert listed(fragment) == [212, *range(129, 119, -1), 112, 12]
        assert "13 utenti con «1 2»" in fragment


@run
async def test_with_several_bots_it_offers_a_choice_and_lists_each_bots_users() -> None:
    second = BotConfig(token="987654321:altro-bot", id=987654321, username="ProtezioneBot")
    settings = config()
    settings.bots = [*settings.bots, second]
    async with running_telegram(settings) as tg:
        await tg.start(1001)
        await tg.control(
            "POST", "inbound", {"from": 2002, "text": "/start", "bot": "ProtezioneBot"}
        )

        _, _, html = await fetch_page(tg)
        assert '<select id="bot">' in html
        assert '<option value="ComuneBot" selected>' in html
        assert listed(html) == [1001]

        _, _, html = await fetch_page(tg, "?bot=ProtezioneBot")
        assert '<option value="ProtezioneBot" selected>' in html
        assert listed(html) == [2002]
        assert "987654321:altro-bot" in html


@run
async def test_it_shows_the_bots_queue_and_where_updates_go() -> None:
    async with running_telegram() as tg:
        await tg.start()
        _, _, fragment = await fetch_page(tg, "?frammento=utenti")
        assert 'data-pending="1"' in fragment and "getUpdates" in fragment

        async with update_receiver() as receiver:
            answer = await tg.call("setWebhook", url=receiver.url)
            assert answer.json["ok"]
            for _ in range(200):
                if receiver.received:
                    break
                await asyncio.sleep(0.01)
            _, _, fragment = await fetch_page(tg, "?frammento=utenti")
            assert 'data-pending="0"' in fragment
            assert f"il webhook {receiver.url}" in fragment


@run
async def test_the_whole_sandbox_serves_the_page_beside_the_whatsapp_one() -> None:
    sandbox = SandboxConfig()
    sandbox.telegram = TelegramConfig(webhooks=FAST_WEBHOOKS)
    async with serving(build_app(sandbox)) as url, aiohttp.ClientSession() as session:
        async with session.get(f"{url}{PAGE}") as r:
            assert r.status == 200 and "Sandbox Telegram" in await r.text()
        async with session.get(f"{url}/_sandbox/") as r:
            assert r.status == 200 and "Sandbox WhatsApp" in await r.text()
