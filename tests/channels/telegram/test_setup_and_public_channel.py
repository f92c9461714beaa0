"""setWebhook as `banditore run` and the console will call it, and a broadcast posted to
the comune's public channel, against the sandbox."""

from __future__ import annotations

import asyncio

import pytest

from banditore.channels.base import Action
from banditore.channels.telegram.public_channel import link_of, post_broadcast
from banditore.channels.telegram.webhook_setup import (
    ALLOWED_UPDATES,
    WebhookSetupError,
    set_webhook,
    webhook_info,
)

from .harness import BOT, PUBLIC_CHANNEL, SECRET, config, run, running_sandbox


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


@run
async def test_a_broadcast_posted_to_the_public_channel_returns_its_link() -> None:
    async with running_sandbox() as sb:
        post = await asyncio.to_thread(post_broadcast, config(sb.url), "Strada chiusa")
        assert post.error is None
        [posted] = await sb.control("GET", f"telegram/posts?channel={PUBLIC_CHANNEL.username}")
        assert posted["text"].startswith("Strada chiusa\n\n")
        name = PUBLIC_CHANNEL.username.removeprefix("@")
        assert post.link == f"https://t.me/{name}/{posted['message_id']}"


@run
async def test_a_public_channel_telegram_doesnt_know_is_an_error_not_a_link() -> None:
    async with running_sandbox() as sb:
        post = await asyncio.to_thread(
            post_broadcast, config(sb.url, public_channel="@canale_inesistente"), "x"
        )
        assert post.link == ""
        assert post.error.title == "Bad Request: chat not found"


def test_a_private_channels_link_is_for_members_and_an_odd_answer_has_none() -> None:
    message = {"message_id": 12, "chat": {"id": -1001234567890, "type": "channel"}}
    assert link_of(message, "-1001234567890") == "https://t.me/c/1234567890/12"
    assert link_of({"message_id": 12, "chat": {"username": "avvisi"}}, "-100") == (
        "https://t.me/avvisi/12"
    )
    assert link_of(True, "@avvisi") == ""


def test_a_channel_without_a_public_channel_cant_post() -> None:
    with pytest.raises(ValueError):
        post_broadcast(config("http://127.0.0.1:9", public_channel=""), "x")


def test_a_blocking_call_to_nobody_is_provider_trouble_not_an_exception() -> None:
    from banditore.channels.telegram.client import call

    answer = call(config("http://127.0.0.1:9"), "getMe", {}, timeout=2)
    assert answer.error.verdict.action == Action.RETRY
    assert answer.error.verdict.provider_trouble
