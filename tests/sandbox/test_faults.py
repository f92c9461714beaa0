"""Fault injection: chosen errors, bare 5xx, slow answers, dropped connections, downtime."""

from __future__ import annotations

import asyncio

import aiohttp

from .harness import FAST, run, running_sandbox, template_body, webhook_receiver


@run
async def test_it_fails_the_next_n_calls_with_a_chosen_code() -> None:
    async with running_sandbox() as sb:
        await sb.control("POST", "faults", {"kind": "error", "code": 131000, "count": 2})
        first, second, third = [await sb.send(template_body()) for _ in range(3)]
        assert (first.status, first.json["error"]["code"]) == (500, 131000)
        assert second.json["error"]["code"] == 131000
        assert third.status == 200


@run
async def test_it_answers_a_bare_5xx_without_json() -> None:
    async with running_sandbox() as sb:
        await sb.control("POST", "faults", {"kind": "http", "status": 502})
        reply = await sb.send(template_body())
        assert reply.status == 502 and not reply.json


@run
async def test_it_answers_slowly_when_asked() -> None:
    async with running_sandbox() as sb:
        await sb.control("POST", "faults", {"kind": "slow", "delay_ms": 300})
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert (await sb.send(template_body())).status == 200
        assert loop.time() - start >= 0.3


@run
async def test_it_drops_the_connection_when_asked() -> None:
    async with running_sandbox() as sb:
        await sb.control("POST", "faults", {"kind": "drop"})
        try:
            await sb.send(template_body())
        except aiohttp.ClientError:
            pass
        else:
            raise AssertionError("the connection should have dropped")
        assert (await sb.send(template_body())).status == 200


@run
async def test_it_is_down_for_some_seconds_then_recovers() -> None:
    async with running_sandbox() as sb:
        await sb.control("POST", "faults", {"down_seconds": 0.2})
        reply = await sb.send(template_body())
        assert (reply.status, reply.json["error"]["code"]) == (503, 2)
        await asyncio.sleep(0.25)
        assert (await sb.send(template_body())).status == 200


@run
async def test_it_fails_a_share_of_calls_only_on_matching_paths() -> None:
    async with running_sandbox() as sb:
        await sb.control(
            "POST",
            "faults",
            {"kind": "error", "code": 131016, "probability": 1.0, "path_contains": "/media"},
        )
        assert (await sb.send(template_body())).status == 200
        await sb.control("DELETE", "faults")
        assert (await sb.control("GET", "faults"))["rules"] == []


@run
async def test_it_duplicates_and_reorders_webhooks_when_asked() -> None:
    knobs = {
        "webhooks": {
            **FAST["webhooks"],
            "duplicate_probability": 1.0,
            "out_of_order_probability": 1.0,
        }
    }
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **knobs) as sb:
        wamid = (await sb.send(template_body())).json["messages"][0]["id"]
        await sb.wait_until(lambda: len(rx.statuses_of(wamid)) >= 6)
        seen = rx.statuses_of(wamid)
        assert seen.index("delivered") < seen.index("sent")
        assert sorted(set(seen)) == ["delivered", "read", "sent"]
