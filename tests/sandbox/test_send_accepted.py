"""Accepted sends answer exactly like Meta (reference §2.7)."""

from __future__ import annotations

import base64
import re

from .harness import CITIZEN, run, running_sandbox, template_body, text_body


@run
async def test_it_accepts_a_text_message_with_metas_response_shape() -> None:
    async with running_sandbox() as sb:
        reply = await sb.send(text_body())
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("application/json")
        assert set(reply.json) == {"messaging_product", "contacts", "messages"}
        assert reply.json["messaging_product"] == "whatsapp"
        assert reply.json["contacts"] == [{"input": CITIZEN, "wa_id": "393331234567"}]
        (message,) = reply.json["messages"]
        assert set(message) == {"id"}


@run
async def test_it_hands_out_wamids_of_base64_up_to_128_chars() -> None:
    async with running_sandbox() as sb:
        ids = {
            (await sb.send(text_body(to=f"+3933300000{i:02d}"))).json["messages"][0]["id"]
            for i in range(20)
        }
        assert len(ids) == 20
        for wamid in ids:
            assert wamid.startswith("wamid.") and len(wamid) <= 128
            base64.b64decode(wamid.removeprefix("wamid."), validate=True)


@run
async def test_it_accepts_an_approved_template_with_two_body_parameters() -> None:
    async with running_sandbox() as sb:
        reply = await sb.send(template_body())
        assert reply.status == 200
        assert reply.json["messages"][0]["id"].startswith("wamid.")


@run
async def test_it_accepts_to_with_decorations_or_without_plus_and_without_version() -> None:
    async with running_sandbox() as sb:
        for to in ("+39 333 123-4567", "39 (333) 1234567", "393331234567"):
            reply = await sb.send(text_body(to=to), version="")
            assert reply.status == 200, reply.json
            assert reply.json["contacts"] == [{"input": to, "wa_id": "393331234567"}]


@run
async def test_it_defaults_type_to_text() -> None:
    async with running_sandbox() as sb:
        reply = await sb.send(
            {"messaging_product": "whatsapp", "to": CITIZEN, "text": {"body": "Ciao"}}
        )
        assert reply.status == 200
        (msg,) = await sb.received()
        assert msg["type"] == "text" and msg["text"] == "Ciao"


@run
async def test_it_answers_success_to_a_read_receipt() -> None:
    async with running_sandbox() as sb:
        inbound_id = await sb.inbound()
        reply = await sb.send(
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": inbound_id,
                "typing_indicator": {"type": "text"},
            }
        )
        assert (reply.status, reply.json) == (200, {"success": True})


@run
async def test_it_sends_graph_headers() -> None:
    async with running_sandbox() as sb:
        reply = await sb.send(text_body(), version="v24.0")
        assert reply.headers["facebook-api-version"] == "v24.0"
        assert reply.headers["x-fb-trace-id"]
        assert re.fullmatch(r"application/json; charset=utf-8", reply.headers["Content-Type"], re.I)
