"""An independent client, pywa, works against the sandbox unchanged; only the host differs.

pywa 4.x has no base-URL option (GraphAPI hard-codes https://graph.facebook.com/vNN.N), so the
test gives it an httpx session whose request hook re-points each request's scheme, host and
port at the sandbox, keeping pywa's own path, version, headers and body. pywa is synchronous:
its calls run in a worker thread while the sandbox serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pywa import WhatsApp, errors, types
from pywa.types.templates import BodyText, TemplateLanguage

from banditore.sandbox import defaults

from .harness import CITIZEN, FAST, run, running_sandbox, webhook_receiver


def pywa_client(sandbox_url: str) -> WhatsApp:
    target = httpx.URL(sandbox_url)

    def to_sandbox(request: httpx.Request) -> None:
        request.url = request.url.copy_with(
            scheme=target.scheme, host=target.host, port=target.port
        )

    return WhatsApp(
        phone_id=defaults.PHONE_NUMBER_ID,
        token=defaults.ACCESS_TOKEN,
        session=httpx.Client(event_hooks={"request": [to_sandbox]}, timeout=10),
        api_version="23.0",
        waba_id=defaults.WABA_ID,
        app_secret=defaults.APP_SECRET,
        verify_token=defaults.VERIFY_TOKEN,
    )


@run
async def test_it_accepts_pywas_text_and_template_messages() -> None:
    async with running_sandbox() as sb:
        wa = pywa_client(sb.url)
        await sb.inbound()
        sent_text = await asyncio.to_thread(wa.send_message, to=CITIZEN, text="Ciao da pywa")
        sent_template = await asyncio.to_thread(
            wa.send_template,
            to=CITIZEN,
            name=defaults.TEMPLATE_NAME,
            language=TemplateLanguage.ITALIAN,
            params=[BodyText.params("Comune di Esempio", "Mercato spostato in piazza.")],
        )
        received = await sb.received()
        assert [m["id"] for m in received] == [sent_text.id, sent_template.id]
        assert received[1]["text"].startswith("Notizie dal Comune di Esempio:")


@run
async def test_it_raises_pywas_own_error_classes() -> None:
    async with running_sandbox(limits={"mps": 1}) as sb:
        wa = pywa_client(sb.url)
        with pytest.raises(errors.TemplateParamCountMismatch):
            await asyncio.to_thread(
                wa.send_template,
                to=CITIZEN,
                name=defaults.TEMPLATE_NAME,
                language=TemplateLanguage.ITALIAN,
                params=[BodyText.params("solo uno")],
            )
        await asyncio.to_thread(wa.send_message, to=CITIZEN, text="uno")
        with pytest.raises(errors.RateLimitHit):
            await asyncio.to_thread(wa.send_message, to="+393339999999", text="due")


@run
async def test_it_produces_webhooks_pywa_verifies_and_parses() -> None:
    # pywa 4.5 reads `value.contacts[0]` for every status, failed ones included, while Meta's
    # status reference says failed statuses omit `contacts`; `contacts_on_failed` bridges it.
    knobs = {"webhooks": {**FAST["webhooks"], "contacts_on_failed": True}}
    async with webhook_receiver() as rx, running_sandbox(callback_url=rx.url, **knobs) as sb:
        wa = pywa_client(sb.url)
        messages: list[types.Message] = []
        statuses: list[types.MessageStatus] = []
        wa.on_message()(lambda _, msg: messages.append(msg))
        wa.on_message_status()(lambda _, status: statuses.append(status))

        await sb.inbound(CITIZEN, "ISCRIVIMI", name="Maria Rossi")
        reply_id = (await asyncio.to_thread(wa.send_message, to=CITIZEN, text="Benvenuta")).id
        failed_id = (await asyncio.to_thread(wa.send_message, to="+393330000001", text="x")).id
        await sb.wait_until(lambda: len(rx.statuses()) == 4 and len(rx.messages()) == 1)

        for webhook in rx.received:
            signature = webhook.headers["X-Hub-Signature-256"]
            assert wa.webhook_update_validator(webhook.body, signature) is None
            assert wa.webhook_update_validator(webhook.body + b" ", signature) is not None
            assert wa.webhook_update_handler(webhook.body) == ("ok", 200)

        (message,) = messages
        assert message.text == "ISCRIVIMI"
        assert message.from_user.wa_id == "393331234567"
        assert message.from_user.name == "Maria Rossi"
        assert message.from_user.bsuid.startswith("IT.")
        by_id: dict[str, list[Any]] = {}
        for status in statuses:
            by_id.setdefault(status.id, []).append(status)
        assert [s.status for s in by_id[reply_id]] == [
            types.MessageStatusType.SENT,
            types.MessageStatusType.DELIVERED,
            types.MessageStatusType.READ,
        ]
        (failed,) = by_id[failed_id]
        assert failed.status == types.MessageStatusType.FAILED
        assert isinstance(failed.error, errors.ReEngagementMessage)
