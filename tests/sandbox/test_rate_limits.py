"""Throughput per number (130429) and pair rate per recipient (131056), reference §5.1–5.2."""

from __future__ import annotations

import asyncio

from .harness import run, running_sandbox, text_body


@run
async def test_it_answers_130429_when_a_burst_exceeds_the_numbers_mps() -> None:
    async with running_sandbox(limits={"mps": 5}) as sb:
        await sb.inbound()  # not needed for acceptance, only to keep the statuses clean
        replies = await asyncio.gather(
            *(sb.send(text_body(to=f"+3933310000{i:02d}")) for i in range(20))
        )
        accepted = [r for r in replies if r.status == 200]
        throttled = [r for r in replies if r.status != 200]
        assert len(accepted) == 5
        assert len(throttled) == 15
        for reply in throttled:
            error = reply.json["error"]
            assert reply.status == 400  # older Meta table (reference §3.3)
            assert error["code"] == 130429
            assert error["error_subcode"] == 2494055
            assert error["message"] == "(#130429) Rate limit hit"
            assert (
                error["error_data"]["details"] == "Cloud API message throughput has been reached."
            )
            assert "x-business-use-case-usage" in reply.headers


@run
async def test_it_refills_the_bucket_over_time() -> None:
    async with running_sandbox(limits={"mps": 20}) as sb:
        for i in range(20):
            assert (await sb.send(text_body(to=f"+3933320000{i:02d}"))).status == 200
        assert (await sb.send(text_body(to="+393332000099"))).status == 400
        await asyncio.sleep(0.11)
        assert (await sb.send(text_body(to="+393332000098"))).status == 200


@run
async def test_it_answers_131056_after_a_pair_burst_to_one_recipient() -> None:
    async with running_sandbox(limits={"pair_burst": 3}) as sb:
        codes = [(await sb.send(text_body())).status for _ in range(4)]
        assert codes == [200, 200, 200, 400]
        reply = await sb.send(text_body())
        assert reply.json["error"]["code"] == 131056
        # Other recipients are unaffected.
        assert (await sb.send(text_body(to="+393339999999"))).status == 200


@run
async def test_it_can_override_the_http_status_per_code() -> None:
    async with running_sandbox(limits={"mps": 1}, error_http_status={130429: 429}) as sb:
        await sb.send(text_body())
        reply = await sb.send(text_body(to="+393330000001"))
        assert (reply.status, reply.json["error"]["code"]) == (429, 130429)
