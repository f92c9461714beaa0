"""Status webhooks arrive signed, Meta-serialised, in the sent → delivered → read timeline
(reference §4.3, §4.5)."""

from __future__ import annotations

from banditore.sandbox import defaults

from .harness import FAST, run, running_sandbox, template_body, webhook_receiver


@run
async def test_it_posts_signed_sent_delivered_read_statuses_for_a_template() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        body = template_body(params=["Comune di Esempio", "Città: è già qui / là"])
        body["biz_opaque_callback_data"] = "broadcast-7:delivery-42"
        wamid = (await sb.send(body)).json["messages"][0]["id"]
        await sb.wait_until(lambda: rx.statuses_of(wamid) == ["sent", "delivered", "read"])

        for webhook in rx.received:
            assert webhook.signature_ok()
            assert not webhook.signature_ok("another-secret")
            assert webhook.headers["Content-Type"] == "application/json"
            webhook.body.decode("ascii")  # ASCII only, non-ASCII escaped as \uXXXX
            assert b"/" not in webhook.body.replace(b"\\/", b"")  # every slash escaped

        sent, delivered, read = rx.statuses()
        payload = rx.received[0].payload
        assert payload["object"] == "whatsapp_business_account"
        entry = payload["entry"][0]
        assert entry["id"] == defaults.WABA_ID
        change = entry["changes"][0]
        assert change["field"] == "messages"
        assert change["value"]["messaging_product"] == "whatsapp"
        assert change["value"]["metadata"] == {
            "display_phone_number": defaults.DISPLAY_PHONE_NUMBER,
            "phone_number_id": defaults.PHONE_NUMBER_ID,
        }
        for status in (sent, delivered, read):
            assert status["id"] == wamid
            assert status["recipient_id"] == "393331234567"
            assert isinstance(status["timestamp"], str) and status["timestamp"].isdigit()
            assert status["biz_opaque_callback_data"] == "broadcast-7:delivery-42"
        pricing = {
            "billable": True,
            "pricing_model": "PMP",
            "type": "regular",
            "category": "utility",
        }
        assert sent["pricing"] == pricing
        assert delivered["pricing"] == pricing
        assert "pricing" not in read


@run
async def test_it_sends_nothing_when_no_callback_is_configured_but_tracks_statuses() -> None:
    async with running_sandbox(**FAST) as sb:
        await sb.send(template_body())
        await sb.wait_until(lambda: sb.sandbox.state.stats["status_read"] == 1)
        (msg,) = await sb.received()
        assert msg["status"] == "read"
        assert [s["status"] for s in msg["statuses"]] == ["accepted", "sent", "delivered", "read"]


@run
async def test_it_can_skip_delivered_and_read_by_probability() -> None:
    fast = {"webhooks": {**FAST["webhooks"], "delivered_probability": 0.0}}
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **fast) as sb:
        wamid = (await sb.send(template_body())).json["messages"][0]["id"]
        await sb.wait_until(lambda: rx.statuses_of(wamid) == ["sent"])
        await __import__("asyncio").sleep(0.1)
        assert rx.statuses_of(wamid) == ["sent"]
