"""Free-form messages need the citizen's 24 h window; templates don't (reference §5.7)."""

from __future__ import annotations

from banditore.sandbox import defaults

from .harness import CITIZEN, FAST, run, running_sandbox, template_body, text_body, webhook_receiver


@run
async def test_it_accepts_text_outside_the_window_then_fails_it_with_131047() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        reply = await sb.send(text_body())
        assert reply.status == 200
        wamid = reply.json["messages"][0]["id"]
        await sb.wait_until(lambda: rx.statuses_of(wamid) == ["failed"])
        (failed,) = rx.statuses()
        (error,) = failed["errors"]
        assert error["code"] == 131047
        assert error["title"] == "Re-engagement message"
        assert error["message"] == error["title"]
        assert error["error_data"]["details"]
        assert error["href"].startswith("https://developers.facebook.com/")
        assert "pricing" not in failed
        (msg,) = await sb.received()
        assert msg["status"] == "failed"
        assert msg["errors"][0]["code"] == 131047


@run
async def test_it_delivers_text_inside_the_window_opened_by_an_inbound_message() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        inbound_id = await sb.inbound(CITIZEN, "ISCRIVIMI", name="Maria Rossi")
        await sb.wait_until(lambda: len(rx.messages()) == 1)
        webhook = rx.received[0]
        assert webhook.signature_ok()
        value = webhook.payload["entry"][0]["changes"][0]["value"]
        (contact,) = value["contacts"]
        assert contact["profile"] == {"name": "Maria Rossi"}
        assert contact["wa_id"] == "393331234567"
        assert contact["user_id"].startswith("IT.")  # BSUID, 2026 usernames rollout
        (message,) = value["messages"]
        assert message["from"] == "393331234567"
        assert message["id"] == inbound_id
        assert message["type"] == "text"
        assert message["text"] == {"body": "ISCRIVIMI"}
        assert message["timestamp"].isdigit()
        assert message["from_user_id"] == contact["user_id"]
        assert value["metadata"]["phone_number_id"] == defaults.PHONE_NUMBER_ID

        wamid = (await sb.send(text_body(body="Benvenuta!"))).json["messages"][0]["id"]
        await sb.wait_until(lambda: rx.statuses_of(wamid) == ["sent", "delivered", "read"])
        sent = rx.statuses()[0]
        assert sent["pricing"] == {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }


@run
async def test_it_delivers_templates_outside_the_window() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        wamid = (await sb.send(template_body())).json["messages"][0]["id"]
        await sb.wait_until(lambda: rx.statuses_of(wamid) == ["sent", "delivered", "read"])


@run
async def test_it_closes_the_window_after_its_configured_length() -> None:
    async with (
        webhook_receiver() as rx,
        running_sandbox(callback_url=rx.url, limits={"window_seconds": 0.05}, **FAST) as sb,
    ):
        await sb.inbound()
        await __import__("asyncio").sleep(0.1)
        wamid = (await sb.send(text_body())).json["messages"][0]["id"]
        await sb.wait_until(lambda: rx.statuses_of(wamid) == ["failed"])
