"""Meta's re-categorisation of templates (`template_category_update`, reference §5.6) and
pricing that follows a template's category at send time (§4.5)."""

from __future__ import annotations

from typing import Any

from banditore.sandbox import defaults
from banditore.sandbox.config import SandboxConfig, TemplateConfig, default_template

from .harness import (
    CITIZEN,
    FAST,
    ReceivedWebhook,
    WebhookReceiver,
    run,
    running_sandbox,
    template_body,
    text_body,
    webhook_receiver,
)

WABA = defaults.WABA_ID
NAME, LANGUAGE = defaults.TEMPLATE_NAME, defaults.TEMPLATE_LANGUAGE
OTHER_CITIZEN = "+393339876543"

REGULAR_UTILITY = {
    "billable": True,
    "pricing_model": "PMP",
    "type": "regular",
    "category": "utility",
}
REGULAR_MARKETING = {**REGULAR_UTILITY, "category": "marketing"}
FREE_SERVICE = {
    "billable": False,
    "pricing_model": "PMP",
    "type": "free_customer_service",
    "category": "service",
}


def category_webhooks(rx: WebhookReceiver) -> list[ReceivedWebhook]:
    return [
        w
        for w in rx.received
        if w.payload["entry"][0]["changes"][0]["field"] == "template_category_update"
    ]


async def recategorise(sb: Any, category: str, **extra: Any) -> dict[str, Any]:
    return await sb.control(
        "POST",
        "templates/category",
        {"name": NAME, "language": LANGUAGE, "category": category, **extra},
    )


async def listed_category(sb: Any) -> str:
    reply = await sb.request("GET", f"/v23.0/{WABA}/message_templates", params={"name": NAME})
    (template,) = reply.json["data"]
    return template["category"]


async def send_template(sb: Any, rx: WebhookReceiver, to: str = CITIZEN) -> str:
    """Send the default template and wait until its last status webhook arrived."""
    reply = await sb.send(template_body(to=to))
    assert reply.status == 200, reply.json
    wamid = reply.json["messages"][0]["id"]
    await sb.wait_until(
        lambda: rx.statuses_of(wamid) in (["sent", "delivered", "read"], ["failed"])
    )
    return wamid


def pricing_of(rx: WebhookReceiver, wamid: str) -> list[dict[str, Any]]:
    return [s["pricing"] for s in rx.statuses() if s["id"] == wamid and "pricing" in s]


@run
async def test_it_changes_the_category_and_sends_the_completed_change_signed() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        template_id = sb.sandbox.state.templates.find(WABA, NAME, LANGUAGE).id
        answer = await recategorise(sb, "MARKETING")
        assert answer["category"] == "MARKETING" and answer["id"] == template_id
        assert await listed_category(sb) == "MARKETING"
        one = await sb.request("GET", f"/v23.0/{template_id}")
        assert one.json["category"] == "MARKETING"

        await sb.wait_until(lambda: len(category_webhooks(rx)) == 1)
        (webhook,) = category_webhooks(rx)
        assert webhook.signature_ok()
        payload = webhook.payload
        entry_time = payload["entry"][0]["time"]
        assert isinstance(entry_time, int)
        assert payload == {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA,
                    "time": entry_time,
                    "changes": [
                        {
                            "field": "template_category_update",
                            "value": {
                                "message_template_id": int(template_id),
                                "message_template_name": NAME,
                                "message_template_language": LANGUAGE,
                                "previous_category": "UTILITY",
                                "new_category": "MARKETING",
                            },
                        }
                    ],
                }
            ],
        }


@run
async def test_it_announces_an_impending_change_a_day_ahead_and_changes_nothing_yet() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        template_id = sb.sandbox.state.templates.find(WABA, NAME, LANGUAGE).id
        answer = await recategorise(sb, "MARKETING", impending=True)
        assert answer["category"] == "UTILITY"
        assert await listed_category(sb) == "UTILITY"

        await sb.wait_until(lambda: len(category_webhooks(rx)) == 1)
        (webhook,) = category_webhooks(rx)
        assert webhook.signature_ok()
        entry = webhook.payload["entry"][0]
        assert entry["id"] == WABA
        assert entry["changes"][0]["field"] == "template_category_update"
        # Meta names the current category `new_category` in the notice; the coming one is
        # `correct_category`, due 24 hours after the notice.
        assert entry["changes"][0]["value"] == {
            "message_template_id": int(template_id),
            "message_template_name": NAME,
            "message_template_language": LANGUAGE,
            "correct_category": "MARKETING",
            "new_category": "UTILITY",
            "category_update_timestamp": entry["time"] + 24 * 3600,
        }

        # Until the change completes, sends are still utility.
        wamid = await send_template(sb, rx)
        assert pricing_of(rx, wamid) == [REGULAR_UTILITY, REGULAR_UTILITY]


@run
async def test_pricing_follows_the_category_at_send_time() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        before = await send_template(sb, rx)
        await recategorise(sb, "MARKETING")
        after = await send_template(sb, rx)
        await recategorise(sb, "AUTHENTICATION")
        last = await send_template(sb, rx)

        # `pricing` rides on `sent` and on `delivered` (not on `read`), reference §4.5.
        assert pricing_of(rx, before) == [REGULAR_UTILITY, REGULAR_UTILITY]
        assert pricing_of(rx, after) == [REGULAR_MARKETING, REGULAR_MARKETING]
        authentication = {**REGULAR_UTILITY, "category": "authentication"}
        assert pricing_of(rx, last) == [authentication, authentication]

        # The messages view keeps each message's category as it was sent.
        received = await sb.received()
        assert [(m["type"], m["template"], m["category"]) for m in received] == [
            ("template", NAME, "UTILITY"),
            ("template", NAME, "MARKETING"),
            ("template", NAME, "AUTHENTICATION"),
        ]
        assert [m["pricing"] for m in received] == [
            REGULAR_UTILITY,
            REGULAR_MARKETING,
            authentication,
        ]


@run
async def test_the_conversation_origin_follows_the_category_too() -> None:
    webhooks = {**FAST["webhooks"], "include_conversation": True}
    async with (
        webhook_receiver() as rx,
        running_sandbox(callback_url=rx.url, webhooks=webhooks) as sb,
    ):
        before = await send_template(sb, rx)
        await recategorise(sb, "MARKETING")
        after = await send_template(sb, rx)
        origins = {
            s["id"]: s["conversation"]["origin"]["type"]
            for s in rx.statuses()
            if s["status"] == "sent"
        }
        assert origins == {before: "utility", after: "marketing"}


@run
async def test_a_template_made_marketing_is_refused_to_citizens_who_stopped_promotions() -> None:
    limits = {"marketing_opted_out": [OTHER_CITIZEN]}
    async with (
        webhook_receiver() as rx,
        running_sandbox(callback_url=rx.url, limits=limits, **FAST) as sb,
    ):
        utility = await send_template(sb, rx, to=OTHER_CITIZEN)
        assert rx.statuses_of(utility) == ["sent", "delivered", "read"]
        await recategorise(sb, "MARKETING")
        marketing = await send_template(sb, rx, to=OTHER_CITIZEN)
        (failed,) = [s for s in rx.statuses() if s["id"] == marketing]
        assert failed["errors"][0]["code"] == 131050
        first, second = await sb.received(OTHER_CITIZEN)
        assert first["category"] == "UTILITY" and first["pricing"] == REGULAR_UTILITY
        # A failed message was not billed: the view, like its webhook, has no pricing.
        assert second["category"] == "MARKETING" and second["status"] == "failed"
        assert "pricing" not in second


@run
async def test_free_text_and_utility_in_the_window_are_free_marketing_is_not() -> None:
    promo = TemplateConfig(name="promo", language="it", category="MARKETING", body="Offerta {{1}}")
    config = SandboxConfig(templates=[default_template(), promo])
    async with (
        webhook_receiver() as rx,
        running_sandbox(config, callback_url=rx.url, **FAST) as sb,
    ):
        await sb.inbound()  # opens the 24 h window
        text = (await sb.send(text_body(body="Benvenuto"))).json["messages"][0]["id"]
        utility = await send_template(sb, rx)
        reply = await sb.send(template_body(name="promo", params=["x"]))
        marketing = reply.json["messages"][0]["id"]
        for wamid in (text, marketing):
            await sb.wait_until(lambda w=wamid: rx.statuses_of(w) == ["sent", "delivered", "read"])

        assert pricing_of(rx, text) == [FREE_SERVICE, FREE_SERVICE]
        free_utility = {**FREE_SERVICE, "category": "utility"}
        assert pricing_of(rx, utility) == [free_utility, free_utility]
        assert pricing_of(rx, marketing) == [REGULAR_MARKETING, REGULAR_MARKETING]
        assert [m["pricing"] for m in await sb.received()] == [
            FREE_SERVICE,
            free_utility,
            REGULAR_MARKETING,
        ]


@run
async def test_the_messages_view_says_what_each_citizen_received_and_as_what() -> None:
    async with running_sandbox(**FAST) as sb:
        await sb.inbound()
        bodies = [
            text_body(body="Ciao"),
            template_body(),
            {"type": "image", "image": {"link": "https://comune.example.it/a.png"}},
            {
                "type": "document",
                "document": {"link": "https://comune.example.it/a.pdf", "filename": "a.pdf"},
            },
        ]
        for body in bodies:
            reply = await sb.send({"messaging_product": "whatsapp", "to": CITIZEN, **body})
            assert reply.status == 200, reply.json
        await sb.send(template_body(to=OTHER_CITIZEN))

        received = await sb.received()
        assert [m["type"] for m in received] == ["text", "template", "image", "document"]
        text, template, image, document = received
        assert (template["template"], template["language"], template["category"]) == (
            NAME,
            LANGUAGE,
            "UTILITY",
        )
        for other in (text, image, document):
            assert "template" not in other and "category" not in other
        assert [m["type"] for m in await sb.received(OTHER_CITIZEN)] == ["template"]


async def refused(sb: Any, body: Any) -> tuple[int, str]:
    reply = await sb.request("POST", "/_sandbox/templates/category", token=None, json=body)
    return reply.status, reply.json["error"]


@run
async def test_it_refuses_bad_category_changes_and_sends_nothing() -> None:
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **FAST) as sb:
        ok = {"name": NAME, "language": LANGUAGE}
        for body, status, words in [
            ({**ok, "name": "nessuno", "category": "MARKETING"}, 404, "no such template"),
            ({**ok, "language": "en_US", "category": "MARKETING"}, 404, "no such template"),
            ({**ok, "waba_id": "999", "category": "MARKETING"}, 404, "no such template"),
            ({**ok, "category": "SERVICE"}, 400, "'category' must be"),
            ({**ok, "category": "marketing"}, 400, "'category' must be"),
            (ok, 400, "'category' must be"),
            ({**ok, "category": "UTILITY"}, 400, "already UTILITY"),
            ({**ok, "category": "MARKETING", "impending": "yes"}, 400, "'impending'"),
            ({"language": LANGUAGE, "category": "MARKETING"}, 400, "'name' and 'language'"),
            ({"name": NAME, "category": "MARKETING"}, 400, "'name' and 'language'"),
            ([NAME], 400, "JSON object"),
        ]:
            code, error = await refused(sb, body)
            assert (code, words in error) == (status, True), (body, code, error)

        assert await listed_category(sb) == "UTILITY"
        await sb.send(template_body())
        await sb.wait_until(lambda: len(rx.statuses()) == 3)
        assert category_webhooks(rx) == []
