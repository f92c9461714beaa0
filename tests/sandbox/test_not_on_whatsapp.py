"""Numbers that are not on WhatsApp: accepted, then failed with 131026 (reference §1.4)."""

from __future__ import annotations

from .harness import FAST, run, running_sandbox, template_body, webhook_receiver


@run
async def test_it_fails_sends_to_numbers_not_on_whatsapp_with_131026() -> None:
    async with (
        webhook_receiver() as rx,
        running_sandbox(
            callback_url=rx.url, limits={"not_on_whatsapp": ["+39 333 000 0000"]}, **FAST
        ) as sb,
    ):
        reply = await sb.send(template_body(to="+393330000000"))
        assert reply.status == 200
        wamid = reply.json["messages"][0]["id"]
        await sb.wait_until(lambda: rx.statuses_of(wamid) == ["failed"])
        assert rx.statuses()[0]["errors"][0]["code"] == 131026
        assert rx.statuses()[0]["errors"][0]["title"] == "Message undeliverable"
