"""The control API: what citizens received, config, reset (the sandbox's own surface)."""

from __future__ import annotations

import asyncio

from banditore.sandbox import defaults

from .harness import CITIZEN, FAST, run, running_sandbox, template_body, text_body, webhook_receiver


@run
async def test_it_lists_what_a_number_received_in_order_with_rendered_templates() -> None:
    async with running_sandbox(**FAST) as sb:
        await sb.inbound()
        await sb.send(template_body(params=["Comune di Esempio", "Strade chiuse per neve."]))
        await sb.send(text_body(body="Seconda"))
        await sb.send(text_body(to="+393339999999", body="A un altro"))
        for to in (CITIZEN, "393331234567"):
            first, second = await sb.received(to)
            assert first["type"] == "template"
            assert first["template"] == defaults.TEMPLATE_NAME
            assert first["text"] == (
                "Notizie dal Comune di Esempio:\n\nStrade chiuse per neve.\n\n"
                "Per non ricevere più messaggi scrivi CANCELLAMI."
            )
            assert first["to"] == CITIZEN
            assert first["id"].startswith("wamid.")
            assert isinstance(first["timestamp"], int)
            assert first["status"] in ("accepted", "sent", "delivered", "read")
            assert second["type"] == "text" and second["text"] == "Seconda"
        await sb.wait_until(lambda: sb.sandbox.state.stats["status_read"] == 2)
        assert [m["status"] for m in await sb.received()] == ["read", "read"]


@run
async def test_it_reports_the_config_a_client_needs() -> None:
    async with running_sandbox() as sb:
        config = await sb.control("GET", "config")
        assert config["graph_base_url"] == sb.url
        assert config["access_token"] == "sandbox-token"
        assert config["app_secret"] == "sandbox-app-secret"
        assert config["verify_token"] == "sandbox-verify-token"
        assert config["api_version"] == "v23.0"
        assert config["numbers"] == [
            {
                "phone_number_id": "106540352242922",
                "display_phone_number": "390510000001",
                "waba_id": "102290129340398",
                "verified_name": "Comune di Esempio",
                "callback_url": "",
                "mps": 80.0,
                "quality_rating": "GREEN",
                "messaging_limit_tier": "TIER_UNLIMITED",
            }
        ]


@run
async def test_it_changes_the_callback_url_at_run_time() -> None:
    async with webhook_receiver() as rx, running_sandbox(**FAST) as sb:
        config = await sb.control(
            "POST", "config", {"callback_url": rx.url, "phone_number_id": defaults.PHONE_NUMBER_ID}
        )
        assert config["numbers"][0]["callback_url"] == rx.url
        await sb.inbound()
        await sb.wait_until(lambda: len(rx.messages()) == 1)


@run
async def test_it_changes_knobs_at_run_time_and_rejects_unknown_ones() -> None:
    async with running_sandbox() as sb:
        config = await sb.control(
            "POST", "config", {"limits": {"mps": 1000}, "webhooks": {"batch_max": 50}}
        )
        assert config["numbers"][0]["mps"] == 1000
        assert config["settings"]["webhooks"]["batch_max"] == 50
        reply = await sb.request(
            "POST", "/_sandbox/config", token=None, json={"limits": {"mpz": 3}}
        )
        assert reply.status == 400
        assert "mpz" in reply.json["error"]


@run
async def test_it_resets_messages_windows_and_buckets() -> None:
    async with running_sandbox(limits={"mps": 2}) as sb:
        await sb.inbound()
        await sb.send(text_body())
        await sb.send(text_body())
        assert (await sb.send(text_body())).status == 400
        await sb.control("POST", "reset")
        assert await sb.received() == []
        assert (await sb.send(text_body())).status == 200
        state = sb.sandbox.state
        assert not state.numbers[defaults.PHONE_NUMBER_ID].windows


@run
async def test_it_adds_a_second_business_number_with_its_own_callback() -> None:
    async with (
        webhook_receiver() as rx1,
        webhook_receiver() as rx2,
        running_sandbox(callback_url=rx1.url, **FAST) as sb,
    ):
        await sb.control(
            "POST",
            "config",
            {
                "numbers": [
                    {
                        "phone_number_id": "200000000000001",
                        "display_phone_number": "390510000002",
                        "verified_name": "Comune di Altrove",
                        "waba_id": "200000000000009",
                        "callback_url": rx2.url,
                    }
                ]
            },
        )
        await sb.inbound(phone_number_id="200000000000001")
        await sb.inbound()
        await sb.wait_until(lambda: len(rx1.messages()) == 1 and len(rx2.messages()) == 1)
        assert rx2.received[0].payload["entry"][0]["id"] == "200000000000009"


@run
async def test_it_rejects_a_bad_inbound_request() -> None:
    async with running_sandbox() as sb:
        reply = await sb.request("POST", "/_sandbox/inbound", token=None, json={"from": "+39"})
        assert reply.status == 400
        assert "text" in reply.json["error"]


@run
async def test_it_sends_no_stale_webhooks_after_a_reset() -> None:
    slow = {"webhooks": {**FAST["webhooks"], "sent_after_ms": 100}}
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **slow) as sb:
        await sb.send(template_body())
        await sb.control("POST", "reset")
        await asyncio.sleep(0.3)
        assert rx.received == []
        await sb.send(template_body())
        await sb.wait_until(lambda: len(rx.statuses()) == 3)


@run
async def test_it_forgets_the_oldest_messages_beyond_its_memory_bound() -> None:
    async with running_sandbox(max_stored_messages=3) as sb:
        for i in range(5):
            await sb.send(template_body(to=f"+3933340000{i:02d}"))
        assert await sb.received("+393334000000") == []
        assert len(await sb.control("GET", "messages")) == 3
