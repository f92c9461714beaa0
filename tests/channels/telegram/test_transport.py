"""TelegramTransport against the sandbox over real HTTP: what reaches the chat, the
provider id, and the verdict for each way Telegram refuses (or isn't there)."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from django.test import override_settings
from django.utils import translation

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.base import Action
from banditore.channels.telegram.errors import NETWORK_ERROR
from banditore.channels.telegram.transport import broadcast_text
from tests.factories import channel_of, make_comune

from .harness import (
    BOT,
    CITIZEN,
    answering,
    outgoing,
    received,
    run,
    running_sandbox,
    start,
    transport,
)


@run
async def test_it_sends_a_reply_to_a_started_chat_and_returns_a_unique_provider_id() -> None:
    async with running_sandbox() as sb:
        await start(sb)
        t = transport(sb.session, sb.url)
        d = outgoing(text="Benvenuta! Scrivi CANCELLAMI per uscire. https://comune.example/x")
        payload = t.render(d)
        assert payload["link_preview_options"] == {"is_disabled": True}
        result = await t.send(d, payload)
        assert result.error is None
        messages = await received(sb)
        assert [m["text"] for m in messages] == [d.text]
        assert messages[0]["chat_id"] == CITIZEN
        # Message ids are per chat; the bot and the chat make it unique everywhere.
        assert result.provider_id == f"tg:{BOT.id}:{CITIZEN}:{messages[0]['message_id']}"


@run
async def test_a_blocked_bot_is_the_citizens_opt_out() -> None:
    async with running_sandbox() as sb:
        await start(sb)
        await sb.control("POST", "telegram/block", {"user": CITIZEN})
        t = transport(sb.session, sb.url)
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.provider_id is None
        assert result.error.verdict.action == Action.OPTED_OUT
        assert result.error.title == "Forbidden: bot was blocked by the user"
        assert result.error.code == 40301
        assert await received(sb) == []


@run
async def test_a_deactivated_account_is_permanent() -> None:
    async with running_sandbox() as sb:
        await start(sb)
        await sb.control("POST", "telegram/deactivate", {"user": CITIZEN})
        t = transport(sb.session, sb.url)
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error.verdict.action == Action.RECIPIENT_PERMANENT
        assert result.error.title == "Forbidden: user is deactivated"


@run
async def test_a_chat_that_never_started_the_bot_is_permanent() -> None:
    async with running_sandbox() as sb:
        t = transport(sb.session, sb.url)
        result = await t.send(outgoing(777), t.render(outgoing(777)))
        assert result.error.verdict.action == Action.RECIPIENT_PERMANENT
        assert result.error.title == "Bad Request: chat not found"
        assert result.error.code == 40001


@run
async def test_a_revoked_token_stops_the_channel() -> None:
    async with running_sandbox() as sb:
        await start(sb)
        t = transport(sb.session, sb.url, bot_token=f"{BOT.id}:revoked-token")
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error.verdict.action == Action.STOP_CHANNEL
        assert result.error.code == 401
        assert await received(sb) == []


@run
async def test_a_too_long_text_stops_the_channel_rather_than_burn_the_list() -> None:
    async with running_sandbox() as sb:
        await start(sb)
        t = transport(sb.session, sb.url)
        d = outgoing()
        payload = {**t.render(d), "text": "x" * 5000}
        result = await t.send(d, payload)
        assert result.error.verdict.action == Action.STOP_CHANNEL
        assert result.error.title == "Bad Request: message is too long"


@run
async def test_flooding_one_chat_is_a_throttled_retry_after_telegrams_seconds() -> None:
    async with running_sandbox() as sb:
        await start(sb)
        t = transport(sb.session, sb.url)
        first = await t.send(outgoing(text="Uno"), t.render(outgoing(text="Uno")))
        second = await t.send(outgoing(text="Due"), t.render(outgoing(text="Due")))
        assert first.error is None
        verdict = second.error.verdict
        assert verdict.action == Action.RETRY
        assert verdict.throttle_channel
        assert not verdict.provider_trouble
        seconds = int(second.error.title.rsplit(" ", 1)[1])  # "retry after N"
        assert verdict.retry_after == seconds >= 1
        assert [m["text"] for m in await received(sb)] == ["Uno"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@run
async def test_a_sandbox_that_is_down_is_provider_trouble_not_an_exception() -> None:
    async with running_sandbox() as sb:
        t = transport(sb.session, f"http://127.0.0.1:{closed_port()}")
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error.code == NETWORK_ERROR
        assert result.error.verdict.action == Action.RETRY
        assert result.error.verdict.provider_trouble


@run
async def test_a_bare_502_from_a_proxy_is_provider_trouble() -> None:
    async with running_sandbox() as sb, answering(502, b"<html>Bad Gateway</html>") as url:
        t = transport(sb.session, url)
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error.code == 502
        assert result.error.verdict.provider_trouble
        assert "Bad Gateway" in result.error.title


@run
async def test_an_accepted_send_with_an_unreadable_body_is_not_sent_twice() -> None:
    async with running_sandbox() as sb, answering(200, b"{}", "application/json") as url:
        t = transport(sb.session, url)
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error is None
        assert result.provider_id == ""
        assert "unreadable" in result.note


def test_a_broadcast_goes_as_its_text_with_the_opt_out_line(transactional_db) -> None:
    # Committed, so prepare's database thread sees it, as the dispatcher's does.
    comune = make_comune()
    broadcast = Broadcast.objects.create(
        organization=comune, channel=channel_of(comune), text='Mercato "spostato" in piazza'
    )

    async def scenario() -> None:
        async with running_sandbox() as sb:
            await start(sb)
            t = transport(sb.session, sb.url)
            await asyncio.to_thread(t.prepare, [broadcast.pk])
            d = outgoing(text="", kind=Delivery.Kind.BROADCAST, broadcast_id=broadcast.pk)
            body = json.loads(t.render(d))
            assert body["chat_id"] == str(CITIZEN)
            assert body["link_preview_options"] == {"is_disabled": False}
            result = await t.send(d, t.render(d))
            assert result.error is None
            [message] = await received(sb)
            assert message["text"] == (
                'Mercato "spostato" in piazza\n\nPer non ricevere più messaggi scrivi CANCELLAMI.'
            )

    asyncio.run(scenario())


def test_a_broadcast_that_is_gone_refuses_to_render(db) -> None:
    t = transport(None, "http://127.0.0.1:9")
    t.prepare([987654])
    with pytest.raises(ValueError, match="987654"):
        t.render(outgoing(kind=Delivery.Kind.BROADCAST, broadcast_id=987654))


ITALIAN_FOOTER = "\n\nPer non ricevere più messaggi scrivi CANCELLAMI."
ENGLISH_FOOTER = "\n\nTo stop receiving messages write CANCELLAMI."


def prepare_in(language: str, t, broadcast: Broadcast) -> None:
    # The dispatcher's database thread, having last served a request in `language`.
    with translation.override(language):
        t.prepare([broadcast.pk])


def sent_broadcast_text(broadcast: Broadcast) -> str:
    """What the citizen's chat shows of the broadcast."""

    async def scenario() -> str:
        async with running_sandbox() as sb:
            await start(sb)
            t = transport(sb.session, sb.url)
            await asyncio.to_thread(prepare_in, translation.get_language(), t, broadcast)
            d = outgoing(text="", kind=Delivery.Kind.BROADCAST, broadcast_id=broadcast.pk)
            assert (await t.send(d, t.render(d))).error is None
            [message] = await received(sb)
            return message["text"]

    return asyncio.run(scenario())


def test_the_opt_out_line_is_italian_whatever_language_the_thread_last_served(
    transactional_db,
) -> None:
    comune = make_comune()
    broadcast = Broadcast.objects.create(
        organization=comune, channel=channel_of(comune), text="Mercato in piazza"
    )
    # A worker thread that last rendered an English console page, or a shell in English.
    with translation.override("en"):
        assert sent_broadcast_text(broadcast) == "Mercato in piazza" + ITALIAN_FOOTER
        # The public channel's post says the same.
        assert broadcast_text("Mercato in piazza") == "Mercato in piazza" + ITALIAN_FOOTER


@override_settings(LANGUAGE_CODE="en")
def test_an_installation_run_in_english_writes_the_opt_out_line_in_english(
    transactional_db,
) -> None:
    comune = make_comune()
    broadcast = Broadcast.objects.create(
        organization=comune, channel=channel_of(comune), text="Market in the square"
    )
    with translation.override("it"):
        assert sent_broadcast_text(broadcast) == "Market in the square" + ENGLISH_FOOTER
