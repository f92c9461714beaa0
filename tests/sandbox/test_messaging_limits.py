"""Messaging-limit tier, per-user marketing cap and template statuses (reference §5.3, §5.8)."""

from __future__ import annotations

from banditore.sandbox.config import SandboxConfig, TemplateConfig, default_template

from .harness import CITIZEN, FAST, run, running_sandbox, template_body, text_body, webhook_receiver


@run
async def test_it_rejects_new_recipients_beyond_the_tier_by_default() -> None:
    async with running_sandbox(limits={"messaging_limit_tier": "TIER_50"}) as sb:
        for i in range(50):
            assert (await sb.send(template_body(to=f"+3933370000{i:02d}"))).status == 200
        # The same recipients again are not new: still fine.
        assert (await sb.send(template_body(to="+393337000000"))).status == 200
        reply = await sb.send(template_body(to="+393337000099"))
        assert reply.status == 400
        assert reply.json["error"]["code"] == 131048
        # Inside an open window the tier does not count.
        await sb.inbound("+393337000099")
        assert (await sb.send(template_body(to="+393337000099"))).status == 200


@run
async def test_it_can_accept_and_then_fail_beyond_the_tier() -> None:
    limits = {
        "messaging_limit_tier": "TIER_50",
        "messaging_limit_behaviour": "fail",
        "messaging_limit_error_code": 131049,
    }
    async with (
        webhook_receiver() as rx,
        running_sandbox(callback_url=rx.url, limits=limits, **FAST) as sb,
    ):
        for i in range(51):
            assert (await sb.send(template_body(to=f"+3933380000{i:02d}"))).status == 200
        await sb.wait_until(lambda: any(s["status"] == "failed" for s in rx.statuses()))
        (failed,) = [s for s in rx.statuses() if s["status"] == "failed"]
        assert failed["recipient_id"] == "393338000050"
        assert failed["errors"][0]["code"] == 131049


@run
async def test_it_caps_marketing_templates_per_user_with_131049() -> None:
    marketing = TemplateConfig(
        name="promo", language="it", category="MARKETING", body="Offerta {{1}}"
    )
    config = SandboxConfig(templates=[default_template(), marketing])
    async with (
        webhook_receiver() as rx,
        running_sandbox(
            config, callback_url=rx.url, limits={"marketing_cap_per_user": 2}, **FAST
        ) as sb,
    ):
        ids = [
            (await sb.send(template_body(name="promo", params=["x"]))).json["messages"][0]["id"]
            for _ in range(3)
        ]
        await sb.wait_until(lambda: rx.statuses_of(ids[2]) == ["failed"])
        assert rx.statuses_of(ids[2]) == ["failed"]
        assert [s for s in rx.statuses() if s["id"] == ids[2]][0]["errors"][0]["code"] == 131049
        assert rx.statuses()[0]["pricing"]["category"] == "marketing"
        # Utility templates are not capped.
        assert (await sb.send(template_body())).status == 200


@run
async def test_it_pauses_and_disables_templates_through_the_control_api() -> None:
    async with running_sandbox() as sb:
        for status, code in (("PAUSED", 132015), ("DISABLED", 132016)):
            await sb.control(
                "POST",
                "templates/status",
                {"name": "banditore_notizia", "language": "it", "status": status},
            )
            assert (await sb.send(template_body())).json["error"]["code"] == code
        await sb.control(
            "POST",
            "templates/status",
            {"name": "banditore_notizia", "language": "it", "status": "APPROVED"},
        )
        assert (await sb.send(template_body())).status == 200


@run
async def test_it_does_not_count_free_form_replies_in_the_window_toward_the_tier() -> None:
    async with running_sandbox(limits={"messaging_limit_tier": "TIER_50"}) as sb:
        await sb.inbound(CITIZEN)
        for _ in range(3):
            assert (await sb.send(text_body())).status == 200
        assert not sb.sandbox.state.numbers["106540352242922"].business_initiated
