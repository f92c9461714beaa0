"""Updates: the webhook (signed, in order, retried until a 2xx) and getUpdates (long polling,
offsets, 409 while a webhook is set)."""

from __future__ import annotations

import asyncio
import time

from .harness import CITIZEN, run, running_telegram, update_receiver

SECRET = "segreto_del-comune_42"


async def wait_until(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@run
async def test_an_inbound_message_is_posted_to_the_webhook_with_the_secret_header() -> None:
    async with update_receiver() as rx, running_telegram() as tg:
        answer = await tg.call("setWebhook", url=rx.url, secret_token=SECRET)
        assert answer.json == {"ok": True, "result": True, "description": "Webhook was set"}
        await tg.control(
            "POST", "inbound", {"from": CITIZEN, "text": "/start abc123", "first_name": "Maria"}
        )
        await wait_until(lambda: len(rx.received) == 1)
        delivery = rx.received[0]
        assert delivery.headers["X-Telegram-Bot-Api-Secret-Token"] == SECRET
        assert delivery.headers["Content-Type"] == "application/json"
        update = delivery.update
        assert update["update_id"] == 1
        message = update["message"]
        assert message["text"] == "/start abc123"
        assert message["from"] == {
            "id": CITIZEN,
            "is_bot": False,
            "first_name": "Maria",
            "language_code": "it",
        }
        assert message["chat"] == {"id": CITIZEN, "first_name": "Maria", "type": "private"}
        assert message["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]


@run
async def test_without_a_secret_there_is_no_secret_header() -> None:
    async with update_receiver() as rx, running_telegram() as tg:
        await tg.call("setWebhook", url=rx.url)
        await tg.start()
        await wait_until(lambda: len(rx.received) == 1)
        assert "X-Telegram-Bot-Api-Secret-Token" not in rx.received[0].headers


@run
async def test_a_refused_update_is_retried_and_later_ones_wait_behind_it() -> None:
    async with update_receiver() as rx, running_telegram() as tg:
        rx.answers = [500]
        await tg.call("setWebhook", url=rx.url, secret_token=SECRET)
        await tg.start(text="/start")
        await tg.start(text="Iscrivimi")
        await wait_until(lambda: len(rx.received) == 2)
        await asyncio.sleep(0.1)  # nothing more arrives: each update once
        assert [d.update["message"]["text"] for d in rx.received] == ["/start", "Iscrivimi"]
        assert [d.update["update_id"] for d in rx.received] == [1, 2]
        assert rx.attempts == 3
        info = (await tg.call("getWebhookInfo")).json["result"]
        assert info["pending_update_count"] == 0
        assert (
            info["last_error_message"]
            == "Wrong response from the webhook: 500 Internal Server Error"
        )
        assert (await tg.control("GET", "stats"))["webhook_failed_attempts"] == 1


@run
async def test_an_unreachable_webhook_keeps_updates_pending() -> None:
    async with running_telegram() as tg:
        await tg.call("setWebhook", url="http://127.0.0.1:9/nowhere")
        await tg.start()
        await asyncio.sleep(0.2)
        info = (await tg.call("getWebhookInfo")).json["result"]
        assert info["pending_update_count"] == 1
        assert info["url"] == "http://127.0.0.1:9/nowhere"
        assert (await tg.control("GET", "stats"))["pending_updates"] == {"ComuneBot": 1}


@run
async def test_blocking_and_unblocking_send_my_chat_member_updates() -> None:
    async with update_receiver() as rx, running_telegram() as tg:
        await tg.call("setWebhook", url=rx.url)
        await tg.start()
        await tg.control("POST", "block", {"user": CITIZEN})
        await tg.control("POST", "unblock", {"user": CITIZEN})
        await wait_until(lambda: len(rx.received) == 3)
        kicked, member = rx.received[1].update, rx.received[2].update
        assert kicked["my_chat_member"]["old_chat_member"]["status"] == "member"
        assert kicked["my_chat_member"]["new_chat_member"]["status"] == "kicked"
        assert kicked["my_chat_member"]["new_chat_member"]["user"]["is_bot"] is True
        assert member["my_chat_member"]["new_chat_member"]["status"] == "member"


@run
async def test_get_updates_is_409_while_a_webhook_is_set() -> None:
    async with running_telegram() as tg:
        await tg.call("setWebhook", url="http://127.0.0.1:9/nowhere")
        answer = await tg.call("getUpdates")
        assert answer.status == 409
        assert answer.json["description"] == (
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first"
        )
        deleted = await tg.call("deleteWebhook")
        assert deleted.json["description"] == "Webhook was deleted"
        assert (await tg.call("getUpdates")).status == 200


@run
async def test_get_updates_serves_pending_updates_until_an_offset_confirms_them() -> None:
    async with running_telegram() as tg:
        await tg.start(text="/start")
        await tg.start(text="Info")
        first = (await tg.call("getUpdates")).json["result"]
        assert [u["update_id"] for u in first] == [1, 2]
        assert [u["update_id"] for u in (await tg.call("getUpdates", offset=2)).json["result"]] == [
            2
        ]
        assert (await tg.call("getUpdates", offset=3)).json["result"] == []


@run
async def test_a_long_poll_returns_as_soon_as_an_update_arrives() -> None:
    async with running_telegram() as tg:
        poll = asyncio.create_task(tg.call("getUpdates", timeout=5))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await tg.start()
        answer = await poll
        assert time.monotonic() - started < 1.0
        assert answer.json["result"][0]["message"]["text"] == "/start"


@run
async def test_allowed_updates_filters_what_is_queued() -> None:
    async with running_telegram() as tg:
        await tg.start()
        await tg.call("getUpdates", offset=2, allowed_updates=["message"])
        await tg.control("POST", "block", {"user": CITIZEN})
        assert (await tg.call("getUpdates")).json["result"] == []


@run
async def test_set_webhook_refuses_a_bad_secret_and_drops_pending_updates_when_asked() -> None:
    async with update_receiver() as rx, running_telegram() as tg:
        bad = await tg.call("setWebhook", url=rx.url, secret_token="non va:bene")
        assert (bad.status, bad.json["description"]) == (
            400,
            "Bad Request: secret token contains unallowed characters",
        )
        too_long = await tg.call("setWebhook", url=rx.url, secret_token="a" * 257)
        assert too_long.status == 400
        await tg.start()
        await tg.call("setWebhook", url=rx.url, drop_pending_updates=True)
        await tg.start(text="Dopo")
        await wait_until(lambda: len(rx.received) == 1)
        await asyncio.sleep(0.05)
        assert [d.update["message"]["text"] for d in rx.received] == ["Dopo"]
