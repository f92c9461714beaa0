"""The webhook sender retries failures with backoff and can batch (reference §4.7)."""

from __future__ import annotations

import asyncio

from .harness import FAST, run, running_sandbox, template_body, webhook_receiver


@run
async def test_it_retries_a_webhook_the_callback_refused() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        rx.answers = [500, 503]
        await sb.inbound()
        await sb.wait_until(lambda: len(rx.messages()) == 1)
        assert sb.sandbox.state.stats["webhooks_failed_attempts"] == 2


@run
async def test_it_retries_an_unreachable_callback_and_gives_up_after_the_horizon() -> None:
    fast = {"webhooks": {**FAST["webhooks"], "retry_horizon_s": 0.2}}
    async with running_sandbox(callback_url="http://127.0.0.1:9/nowhere", **fast) as sb:
        await sb.inbound()
        await sb.wait_until(lambda: sb.sandbox.state.stats["webhooks_dropped"] == 1)
        assert sb.sandbox.state.stats["webhooks_failed_attempts"] >= 2


@run
async def test_it_does_not_make_the_api_wait_for_a_slow_callback() -> None:
    async with running_sandbox(callback_url="http://10.255.255.1/blackhole", **FAST) as sb:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(20):
            assert (await sb.send(template_body(to=f"+3933350000{i:02d}"))).status == 200
        assert loop.time() - start < 1.0


@run
async def test_it_batches_statuses_of_one_number_into_one_post_when_asked() -> None:
    batching = {"webhooks": {**FAST["webhooks"], "batch_max": 100, "batch_window_ms": 50}}
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **batching) as sb:
        await asyncio.gather(*(sb.send(template_body(to=f"+3933360000{i:02d}")) for i in range(10)))
        await sb.wait_until(lambda: len(rx.statuses()) == 30)
        assert len(rx.received) < 30
        assert (
            max(len(w.payload["entry"][0]["changes"][0]["value"]["statuses"]) for w in rx.received)
            > 1
        )
        assert all(w.signature_ok() for w in rx.received)
