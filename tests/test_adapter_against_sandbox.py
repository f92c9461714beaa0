"""The production adapter against the sandbox over real HTTP: what Meta would answer."""

import asyncio

import aiohttp

from banditore.channels.whatsapp.client import TemplateBody, WhatsAppClient, text_payload
from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.errors import NETWORK_ERROR, Action
from banditore.core.demo import SANDBOX
from tests.sandbox.harness import running_sandbox

TO = "+393331234567"


def config(url: str, **changes) -> WhatsAppConfig:
    return WhatsAppConfig(**{**SANDBOX, "base_url": url, **changes})


async def send_all(url: str, payloads, **changes):
    async with aiohttp.ClientSession() as session:
        client = WhatsAppClient(session, config(url, **changes))
        return [await client.send(p) for p in payloads]


def test_it_sends_templates_and_text_and_reads_the_wamid():
    async def scenario():
        async with running_sandbox() as sb:
            body = TemplateBody("banditore_notizia", "it", ["Comune di Esempio", "Ciao"])
            await sb.inbound(TO, "ciao")  # opens the window for free text
            results = await send_all(
                sb.url, [body.render(TO, "delivery:1"), text_payload(TO, "Risposta")]
            )
            assert all(r.error is None and r.provider_id.startswith("wamid.") for r in results)
            received = await sb.received(TO)
            assert "Notizie dal Comune di Esempio" in received[0]["text"]

    asyncio.run(scenario())


def test_it_reads_metas_errors_and_classifies_them():
    async def scenario():
        async with running_sandbox(limits={"mps": 1}) as sb:
            body = TemplateBody("banditore_notizia", "it", ["Comune", "Testo"])
            bad_token = (await send_all(sb.url, [body.render(TO, "x")], access_token="nope"))[0]
            assert bad_token.error.code == 190
            assert bad_token.error.verdict.action == Action.STOP_CHANNEL
            missing = TemplateBody("non_esiste", "it", ["a", "b"]).render(TO, "x")
            unknown_template = (await send_all(sb.url, [missing]))[0]
            assert unknown_template.error.code == 132001
            burst = await send_all(sb.url, [body.render(f"+39333000000{i}", "x") for i in range(5)])
            throttled = [r.error for r in burst if r.error]
            assert throttled and throttled[0].code == 130429
            assert throttled[0].verdict.throttle_channel

    asyncio.run(scenario())


def test_an_unreachable_provider_is_a_retryable_network_error():
    async def scenario():
        result = (await send_all("http://127.0.0.1:9", [text_payload(TO, "x")]))[0]
        assert result.error.code == NETWORK_ERROR
        assert result.error.verdict.action == Action.RETRY

    asyncio.run(scenario())
