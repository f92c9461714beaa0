"""Template management and phone-number fields (reference §6.1, §5.1, §5.3)."""

from __future__ import annotations

from banditore.sandbox import defaults

from .harness import FAST, PHONE_ID, run, running_sandbox, template_body, webhook_receiver

WABA = defaults.WABA_ID
NEW = {
    "name": "allerta_meteo",
    "language": "it",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Allerta {{1}}"},
        {
            "type": "BODY",
            "text": "Allerta {{1}} per {{2}}.",
            "example": {"body_text": [["gialla", "domani"]]},
        },
        {"type": "FOOTER", "text": "Protezione civile"},
    ],
}


@run
async def test_it_lists_the_default_template() -> None:
    async with running_sandbox() as sb:
        reply = await sb.request("GET", f"/v23.0/{WABA}/message_templates")
        assert reply.status == 200
        (tpl,) = reply.json["data"]
        assert tpl["name"] == "banditore_notizia"
        assert tpl["language"] == "it"
        assert tpl["status"] == "APPROVED"
        assert tpl["category"] == "UTILITY"
        assert tpl["components"] == [
            {
                "type": "BODY",
                "text": defaults.TEMPLATE_BODY,
                "example": {"body_text": [["example_1", "example_2"]]},
            }
        ]
        assert "cursors" in reply.json["paging"]


@run
async def test_it_creates_a_pending_template_that_cannot_be_sent_until_approved() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        reply = await sb.request("POST", f"/v23.0/{WABA}/message_templates", json=NEW)
        assert reply.status == 200
        assert reply.json["status"] == "PENDING" and reply.json["category"] == "UTILITY"
        body = template_body(name="allerta_meteo", params=["gialla", "domani"])
        body["template"]["components"].append(
            {"type": "header", "parameters": [{"type": "text", "text": "gialla"}]}
        )
        assert (await sb.send(body)).json["error"]["code"] == 132001

        await sb.control(
            "POST",
            "templates/status",
            {"name": "allerta_meteo", "language": "it", "status": "APPROVED"},
        )
        await sb.wait_until(lambda: len(rx.received) == 1)
        change = rx.received[0].payload["entry"][0]["changes"][0]
        assert change["field"] == "message_template_status_update"
        assert change["value"]["event"] == "APPROVED"
        assert change["value"]["message_template_id"] == int(reply.json["id"])
        assert isinstance(rx.received[0].payload["entry"][0]["time"], int)

        assert (await sb.send(body)).status == 200
        (msg,) = await sb.received()
        assert msg["header"] == "Allerta gialla"
        assert msg["text"] == "Allerta gialla per domani."
        assert msg["footer"] == "Protezione civile"

        again = await sb.request("POST", f"/v23.0/{WABA}/message_templates", json=NEW)
        assert again.json["error"]["error_subcode"] == 2388024


@run
async def test_it_pages_through_templates_and_deletes_by_name() -> None:
    async with running_sandbox() as sb:
        for i in range(5):
            new = {**NEW, "name": f"avviso_{i}"}
            assert (
                await sb.request("POST", f"/v23.0/{WABA}/message_templates", json=new)
            ).status == 200
        names: list[str] = []
        path = f"/v23.0/{WABA}/message_templates?limit=2&fields=name,status"
        while path:
            page = await sb.request("GET", path)
            names += [t["name"] for t in page.json["data"]]
            assert all(set(t) == {"name", "status", "id"} for t in page.json["data"])
            path = page.json.get("paging", {}).get("next", "").removeprefix(sb.url)
        assert names == ["banditore_notizia"] + [f"avviso_{i}" for i in range(5)]

        deleted = await sb.request("DELETE", f"/v23.0/{WABA}/message_templates?name=avviso_3")
        assert deleted.json == {"success": True}
        left = await sb.request("GET", f"/v23.0/{WABA}/message_templates?limit=100")
        assert "avviso_3" not in [t["name"] for t in left.json["data"]]
        missing = await sb.request("DELETE", f"/v23.0/{WABA}/message_templates?name=avviso_3")
        assert missing.status == 400


@run
async def test_it_reads_phone_number_fields() -> None:
    async with running_sandbox() as sb:
        fields = ",".join(
            (
                "throughput",
                "quality_rating",
                "whatsapp_business_manager_messaging_limit",
                "display_phone_number",
                "verified_name",
            )
        )
        reply = await sb.request("GET", f"/v23.0/{PHONE_ID}?fields={fields}")
        assert reply.json == {
            "throughput": {"level": "STANDARD"},
            "quality_rating": "GREEN",
            "whatsapp_business_manager_messaging_limit": "TIER_UNLIMITED",
            "display_phone_number": "+390510000001",
            "verified_name": "Comune di Esempio",
            "id": PHONE_ID,
        }
        await sb.control(
            "POST", "config", {"limits": {"mps": 1000, "messaging_limit_tier": "TIER_2K"}}
        )
        reply = await sb.request(
            "GET", f"/v23.0/{PHONE_ID}?fields=throughput,whatsapp_business_manager_messaging_limit"
        )
        assert reply.json["throughput"] == {"level": "HIGH"}
        assert reply.json["whatsapp_business_manager_messaging_limit"] == "TIER_2K"
        bad = await sb.request("GET", f"/v23.0/{PHONE_ID}?fields=nonsense")
        assert bad.json["error"]["code"] == 100
