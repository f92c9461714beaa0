"""Per-recipient rules: opted-out users, US marketing pause, experiments, read receipts off,
test-number allow-lists, citizens' taps, and tokens in other states (reference §5.8, §9)."""

from __future__ import annotations

import asyncio

from banditore.sandbox.config import NumberConfig, SandboxConfig, TemplateConfig, default_template

from .harness import CITIZEN, FAST, run, running_sandbox, template_body, text_body, webhook_receiver

PROMO = TemplateConfig(name="promo", language="it", category="MARKETING", body="Offerta {{1}}")


def _config() -> SandboxConfig:
    return SandboxConfig(templates=[default_template(), PROMO])


async def _failed_code(sb, rx, to: str) -> int:  # type: ignore[no-untyped-def]
    reply = await sb.send(template_body(to=to, name="promo", params=["x"]))
    assert reply.status == 200
    wamid = reply.json["messages"][0]["id"]
    await sb.wait_until(lambda: "failed" in rx.statuses_of(wamid))
    return [s for s in rx.statuses() if s["id"] == wamid][0]["errors"][0]["code"]


@run
async def test_it_fails_marketing_for_opted_out_us_and_experiment_users() -> None:
    limits = {"marketing_opted_out": ["+393330000001"], "experiment_group": ["+393330000002"]}
    async with (
        webhook_receiver() as rx,
        running_sandbox(_config(), callback_url=rx.url, limits=limits, **FAST) as sb,
    ):
        assert await _failed_code(sb, rx, "+393330000001") == 131050
        assert await _failed_code(sb, rx, "+393330000002") == 130472
        assert await _failed_code(sb, rx, "+12025550123") == 131049
        # Utility templates still reach all of them.
        for to in ("+393330000001", "+393330000002", "+12025550123"):
            wamid = (await sb.send(template_body(to=to))).json["messages"][0]["id"]
            await sb.wait_until(lambda w=wamid: rx.statuses_of(w) == ["sent", "delivered", "read"])


@run
async def test_it_records_a_stop_promotions_tap_and_tells_the_business() -> None:
    async with (
        webhook_receiver() as rx,
        running_sandbox(_config(), callback_url=rx.url, **FAST) as sb,
    ):
        await sb.control("POST", "user-preferences", {"from": CITIZEN, "value": "stop"})
        await sb.wait_until(lambda: len(rx.received) == 1)
        change = rx.received[0].payload["entry"][0]["changes"][0]
        assert change["field"] == "user_preferences"
        (pref,) = change["value"]["user_preferences"]
        assert (pref["wa_id"], pref["value"], pref["category"]) == (
            "393331234567",
            "stop",
            "marketing_messages",
        )
        assert isinstance(pref["timestamp"], int)
        assert await _failed_code(sb, rx, CITIZEN) == 131050


@run
async def test_it_never_reports_read_for_users_with_read_receipts_off() -> None:
    async with (
        webhook_receiver() as rx,
        running_sandbox(callback_url=rx.url, limits={"read_receipts_off": [CITIZEN]}, **FAST) as sb,
    ):
        wamid = (await sb.send(template_body())).json["messages"][0]["id"]
        await sb.wait_until(lambda: rx.statuses_of(wamid) == ["sent", "delivered"])
        await asyncio.sleep(0.1)
        assert rx.statuses_of(wamid) == ["sent", "delivered"]


@run
async def test_it_limits_a_test_number_to_its_allowed_recipients() -> None:
    number = NumberConfig(
        phone_number_id="106540352242922",
        display_phone_number="15550000001",
        verified_name="Test Number",
        waba_id="102290129340398",
        allowed_recipients=[CITIZEN],
    )
    async with running_sandbox(SandboxConfig(numbers=[number])) as sb:
        assert (await sb.send(template_body())).status == 200
        reply = await sb.send(template_body(to="+393339999999"))
        assert reply.json["error"]["code"] == 131030


@run
async def test_it_answers_expired_and_unpermitted_tokens_like_graph() -> None:
    async with running_sandbox(
        tokens={"old-token": "expired", "weak-token": "no_permission"}
    ) as sb:
        expired = await sb.send(text_body(), token="old-token")
        assert (
            expired.status,
            expired.json["error"]["code"],
            expired.json["error"]["error_subcode"],
        ) == (401, 190, 463)
        weak = await sb.send(text_body(), token="weak-token")
        assert (weak.status, weak.json["error"]["code"]) == (403, 10)


@run
async def test_it_delivers_button_and_list_taps_as_inbound_webhooks() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        await sb.control(
            "POST",
            "inbound",
            {
                "from": CITIZEN,
                "button": {"payload": "STOP", "text": "Stop"},
                "context_id": "wamid.X",
            },
        )
        await sb.control(
            "POST", "inbound", {"from": CITIZEN, "button_reply": {"id": "si", "title": "Sì"}}
        )
        await sb.wait_until(lambda: len(rx.messages()) == 2)
        button, interactive = rx.messages()
        assert button["type"] == "button" and button["button"] == {
            "payload": "STOP",
            "text": "Stop",
        }
        assert button["context"] == {"from": "390510000001", "id": "wamid.X"}
        assert interactive["interactive"] == {
            "type": "button_reply",
            "button_reply": {"id": "si", "title": "Sì"},
        }


@run
async def test_it_performs_metas_get_handshake_against_the_callback() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url) as sb:
        assert (await sb.control("POST", "verify-callback", {}))["verified"] is True
        wrong = await sb.control("POST", "verify-callback", {"verify_token": "nope"})
        assert (wrong["verified"], wrong["status"]) == (False, 403)
