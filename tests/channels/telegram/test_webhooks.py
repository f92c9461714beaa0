"""The webhook reader: the secret header, and real updates the sandbox posted (the exact
bytes a local receiver got) read into kind-free items."""

from __future__ import annotations

import asyncio
import json

import pytest
from multidict import CIMultiDict

from banditore.channels.base import MalformedWebhook, MessageItem, StopItem
from banditore.channels.telegram.webhook_setup import set_webhook
from banditore.channels.telegram.webhooks import READER

from .harness import (
    CITIZEN,
    SECRET,
    config,
    run,
    running_sandbox,
    sandbox_config,
    start,
    update_receiver,
    wait_until,
)

CONFIG = config("http://127.0.0.1:9")


def test_the_right_secret_is_genuine_in_any_header_case() -> None:
    assert READER.verify(CONFIG, b"{}", {"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert READER.verify(CONFIG, b"{}", {"x-telegram-bot-api-secret-token": SECRET})
    assert READER.verify(CONFIG, b"{}", CIMultiDict({"X-TELEGRAM-BOT-API-SECRET-TOKEN": SECRET}))


def test_a_wrong_or_missing_secret_is_refused() -> None:
    assert not READER.verify(CONFIG, b"{}", {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"})
    assert not READER.verify(CONFIG, b"{}", {"X-Telegram-Bot-Api-Secret-Token": ""})
    assert not READER.verify(CONFIG, b"{}", {"X-Telegram-Bot-Api-Secret-Token": "segreto\udcff"})
    assert not READER.verify(CONFIG, b"{}", {})


def test_there_is_no_get_handshake_and_no_body_speaks_for_another_bot() -> None:
    assert READER.handshake(CONFIG, {"hub.mode": "subscribe", "hub.challenge": "x"}) is None
    assert not READER.shares_sender(CONFIG, CONFIG)


@run
async def test_real_updates_become_a_message_and_a_stop() -> None:
    async with update_receiver() as rx, running_sandbox(sandbox_config()) as sb:
        await asyncio.to_thread(set_webhook, config(sb.url), rx.url)
        sent = await start(sb, text="ISCRIVIMI viabilità")
        await sb.control("POST", "telegram/block", {"user": CITIZEN})
        await wait_until(lambda: len(rx.posts) == 2)
        assert all(READER.verify(CONFIG, p.body, p.headers) for p in rx.posts)
        [message] = READER.parse(rx.posts[0].body)
        [stop] = READER.parse(rx.posts[1].body)

    assert isinstance(message, MessageItem)
    assert message.account == ""  # the receiving URL's channel
    assert message.sender == str(CITIZEN)
    assert message.provider_id == f"tg:{CITIZEN}:{sent['message_id']}"
    assert message.text == "ISCRIVIMI viabilità"
    assert message.type == "text"
    assert message.at.timestamp() == json.loads(rx.posts[0].body)["message"]["date"]

    assert isinstance(stop, StopItem)
    assert stop.account == ""
    assert stop.sender == str(CITIZEN)
    update = json.loads(rx.posts[1].body)
    assert stop.evidence["update_id"] == update["update_id"]
    assert stop.evidence["my_chat_member"] == "kicked"
    assert stop.at.timestamp() == update["my_chat_member"]["date"]


@run
async def test_unblocking_says_nothing_until_the_citizen_writes() -> None:
    async with update_receiver() as rx, running_sandbox(sandbox_config()) as sb:
        await asyncio.to_thread(set_webhook, config(sb.url), rx.url)
        await start(sb)
        await sb.control("POST", "telegram/block", {"user": CITIZEN})
        await sb.control("POST", "telegram/unblock", {"user": CITIZEN})
        await wait_until(lambda: len(rx.posts) == 3)
        unblock = rx.posts[2].body
    assert json.loads(unblock)["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert READER.parse(unblock) == []


def update(**content) -> bytes:
    return json.dumps({"update_id": 9, **content}).encode()


def test_a_photo_is_a_message_with_its_caption_and_a_group_is_nobody() -> None:
    chat = {"id": CITIZEN, "type": "private"}
    photo = {"message_id": 3, "chat": chat, "date": 1765000000, "photo": [{}], "caption": "Buca"}
    [item] = READER.parse(update(message=photo))
    assert (item.type, item.text) == ("photo", "Buca")
    group = {**photo, "chat": {"id": -5, "type": "group"}, "text": "ciao"}
    assert READER.parse(update(message=group)) == []
    assert READER.parse(update(edited_message=photo)) == []


def test_an_update_whose_message_is_unreadable_is_dropped_not_refused() -> None:
    assert READER.parse(update(message={"message_id": "x"})) == []
    zero = {"message_id": 1, "chat": {"id": CITIZEN, "type": "private"}, "date": 0, "text": "a"}
    assert READER.parse(update(message=zero))[0].at is None


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"message": {}}', b'{"update_id": "x"}', b"\xff"]
)
def test_a_body_that_is_no_update_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        READER.parse(body)
