"""Flood limits: 1 message/s per chat, 30/s per bot, 20/minute per channel; 429 with a
retry_after that a client can honour and then get through."""

from __future__ import annotations

import asyncio
import time

from banditore.sandbox.telegram import LimitsConfig, TelegramConfig

from .harness import CHANNEL, CITIZEN, FAST_WEBHOOKS, config, run, running_telegram

FIRST_CHAT = 500_000


async def start_many(tg, count: int) -> list[int]:
    chats = [FIRST_CHAT + i for i in range(count)]
    for chat in chats:
        await tg.start(chat)
    return chats


@run
async def test_a_second_message_to_one_chat_within_a_second_is_429() -> None:
    async with running_telegram(config(limits=True)) as tg:
        await tg.start()
        first = await tg.call("sendMessage", chat_id=CITIZEN, text="Uno")
        second = await tg.call("sendMessage", chat_id=CITIZEN, text="Due")
        assert first.status == 200
        assert second.status == 429
        retry = second.json["parameters"]["retry_after"]
        assert isinstance(retry, int) and retry >= 1
        assert second.json["description"] == f"Too Many Requests: retry after {retry}"
        assert second.json["error_code"] == 429
        assert [m["text"] for m in await tg.received()] == ["Uno"]
        assert (await tg.control("GET", "stats"))["rate_limited_429"] == 1


@run
async def test_31_chats_in_one_second_breach_the_bot_limit_and_retry_after_gets_them_through() -> (
    None
):
    async with running_telegram(config(limits=True)) as tg:
        chats = await start_many(tg, 31)
        burst = await asyncio.gather(
            *(tg.call("sendMessage", chat_id=c, text="Allerta") for c in chats)
        )
        refused = [(c, a) for c, a in zip(chats, burst, strict=True) if a.status == 429]
        assert len(refused) == 1, [a.status for a in burst]
        assert sum(a.status == 200 for a in burst) == 30
        wait = max(a.json["parameters"]["retry_after"] for _, a in refused)
        assert wait >= 1
        await asyncio.sleep(wait)
        again = [await tg.call("sendMessage", chat_id=c, text="Allerta") for c, _ in refused]
        assert [a.status for a in again] == [200]
        assert (await tg.control("GET", "stats"))["rate_limited_429"] == 1


async def paced(tg, chats: list[int], per_second: float) -> int:
    """Send one message to each chat at `per_second`, starting 1/per_second from now;
    the number of 429s."""
    start = time.monotonic()
    refused = 0
    for i, chat in enumerate(chats):
        delay = start + (i + 1) / per_second - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        answer = await tg.call("sendMessage", chat_id=chat, text="Avviso")
        refused += answer.status == 429
    return refused


@run
async def test_a_sender_paced_at_30_per_second_gets_no_429_and_one_at_45_does() -> None:
    async with running_telegram(config(limits=True)) as tg:
        chats = await start_many(tg, 150)
        # Empty the bot's bucket first, so the pace alone decides (no saved-up burst).
        drain = await asyncio.gather(
            *(tg.call("sendMessage", chat_id=c, text="Primo") for c in chats[:30])
        )
        assert all(a.status == 200 for a in drain)
        assert await paced(tg, chats[30:75], 30.0) == 0  # 1.5 s at the limit
        await asyncio.sleep(1.0)  # full again
        await asyncio.gather(
            *(tg.call("sendMessage", chat_id=c, text="Primo") for c in chats[75:105])
        )
        assert await paced(tg, chats[105:150], 45.0) > 0
        rate = (await tg.control("GET", "stats"))["rate"]["ComuneBot"]
        assert rate["last_1s"] > 20


@run
async def test_a_channel_takes_20_posts_a_minute() -> None:
    limits = LimitsConfig(per_chat_per_second=100.0)
    async with running_telegram(TelegramConfig(webhooks=FAST_WEBHOOKS, limits=limits)) as tg:
        answers = [
            await tg.call("sendMessage", chat_id=CHANNEL, text=f"Post {i}") for i in range(21)
        ]
        assert [a.status for a in answers[:20]] == [200] * 20
        assert answers[20].status == 429
        # One post's worth of a 20-per-minute bucket is 3 s.
        assert answers[20].json["parameters"]["retry_after"] == 3
        assert len(await tg.control("GET", "posts?channel=%40comune_avvisi")) == 20


@run
async def test_limits_can_be_turned_off_and_on_through_the_config_api() -> None:
    async with running_telegram(config(limits=True)) as tg:
        await tg.start()
        await tg.control("POST", "config", {"limits": {"enabled": False}})
        answers = [await tg.call("sendMessage", chat_id=CITIZEN, text="x") for _ in range(40)]
        assert {a.status for a in answers} == {200}
        await tg.control("POST", "config", {"limits": {"enabled": True}})
        await tg.call("sendMessage", chat_id=CITIZEN, text="y")
        assert (await tg.call("sendMessage", chat_id=CITIZEN, text="z")).status == 429
