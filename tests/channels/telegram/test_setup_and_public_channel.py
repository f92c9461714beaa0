"""setWebhook as `banditore run` and the console will call it, against the sandbox, and the
public channel's post links."""

from __future__ import annotations

import asyncio

import pytest

from banditore.channels.base import Action
from banditore.channels.telegram.public_channel import link_of, post_link
from banditore.channels.telegram.webhook_setup import (
    ALLOWED_UPDATES,
    WebhookSetupError,
    set_webhook,
    webhook_info,
)

from .harness import BOT, SECRET, config, run, running_sandbox


@run
async def test_set_webhook_registers_the_url_the_secret_and_the_updates_we_read() -> None:
    async with running_sandbox() as sb:
        url = "http://127.0.0.1:8001/webhooks/telegram/7"
        await asyncio.to_thread(set_webhook, config(sb.url), url)
        info = await asyncio.to_thread(webhook_info, config(sb.url))
        assert info["url"] == url
        assert info["allowed_updates"] == ALLOWED_UPDATES
        state = (await sb.control("GET", "telegram/config"))["webhooks_state"]
        assert state[BOT.username] == {"url": url, "secret_token": SECRET}


@run
async def test_set_webhook_with_a_bad_token_raises_with_telegrams_words() -> None:
    async with running_sandbox() as sb:
        bad = config(sb.url, bot_token=f"{BOT.id}:revoked")
        with pytest.raises(WebhookSetupError, match="setWebhook: Unauthorized"):
            await asyncio.to_thread(set_webhook, bad, "http://127.0.0.1:8001/x")


def test_a_private_channels_link_is_for_members_and_an_odd_answer_has_none() -> None:
    message = {"message_id": 12, "chat": {"id": -1001234567890, "type": "channel"}}
    assert link_of(message, "-1001234567890") == "https://t.me/c/1234567890/12"
    assert link_of({"message_id": 12, "chat": {"username": "avvisi"}}, "-100") == (
        "https://t.me/avvisi/12"
    )
    assert link_of(True, "@avvisi") == ""
    assert post_link("@avvisi", "tg:123456789:@avvisi:7") == "https://t.me/avvisi/7"
    assert post_link("@avvisi", "") == ""


def test_a_blocking_call_to_nobody_is_provider_trouble_not_an_exception() -> None:
    from banditore.channels.telegram.client import call

    answer = call(config("http://127.0.0.1:9"), "getMe", {}, timeout=2)
    assert answer.error.verdict.action == Action.RETRY
    assert answer.error.verdict.provider_trouble
