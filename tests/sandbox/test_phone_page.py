"""The "phone" page a newcomer sees at /_sandbox/ (Italian first)."""

from __future__ import annotations

from .harness import run, running_sandbox, template_body


@run
async def test_it_serves_the_phone_page_in_italian_with_the_numbers() -> None:
    async with running_sandbox() as sb:
        reply = await sb.request("GET", "/_sandbox/", token=None)
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/html")
        html = reply.json.decode() if isinstance(reply.json, bytes) else str(reply.json)
        assert '<html lang="it">' in html
        assert "Scrivi come cittadino" in html
        assert "Comune di Esempio (+390510000001)" in html
        assert "sandbox-token" in html


@run
async def test_it_shows_both_sides_of_a_conversation_for_the_page() -> None:
    async with running_sandbox() as sb:
        await sb.inbound(text="ISCRIVIMI")
        await sb.send(template_body())
        data = await sb.control("GET", "conversation?with=%2B393331234567")
        assert data["window_open"] is True
        assert [m["direction"] for m in data["messages"]] == ["in", "out"]
        assert data["messages"][0]["text"] == "ISCRIVIMI"
        contacts = await sb.control("GET", "contacts")
        assert contacts[0]["number"] == "+393331234567"
