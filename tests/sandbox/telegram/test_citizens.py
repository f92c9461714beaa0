"""Citizens who block the bot, unblock it or leave Telegram; posts to the comune's channel."""

from __future__ import annotations

from .harness import CHANNEL, CITIZEN, run, running_telegram


@run
async def test_a_citizen_who_blocked_the_bot_gives_telegrams_403() -> None:
    async with running_telegram() as tg:
        await tg.start()
        await tg.control("POST", "block", {"user": CITIZEN})
        answer = await tg.call("sendMessage", chat_id=CITIZEN, text="Avviso")
        assert answer.status == 403
        assert answer.json == {
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        }
        assert await tg.received() == []
        assert (await tg.control("GET", "stats"))["forbidden_403"] == 1


@run
async def test_unblocking_lets_messages_through_again() -> None:
    async with running_telegram() as tg:
        await tg.start()
        await tg.control("POST", "block", {"user": CITIZEN})
        await tg.control("POST", "unblock", {"user": CITIZEN})
        answer = await tg.call("sendMessage", chat_id=CITIZEN, text="Di nuovo")
        assert answer.status == 200, answer.json


@run
async def test_a_deactivated_user_gives_403_user_is_deactivated() -> None:
    async with running_telegram() as tg:
        await tg.start()
        await tg.control("POST", "deactivate", {"user": CITIZEN})
        answer = await tg.call("sendMessage", chat_id=CITIZEN, text="Avviso")
        assert (answer.status, answer.json["description"]) == (
            403,
            "Forbidden: user is deactivated",
        )


@run
async def test_a_post_to_the_channel_is_recorded_with_its_followers() -> None:
    async with running_telegram() as tg:
        answer = await tg.call("sendMessage", chat_id=CHANNEL, text="Mercato giovedì")
        assert answer.status == 200, answer.json
        message = answer.json["result"]
        assert message["chat"]["type"] == "channel" and message["chat"]["id"] == -1001234567890
        assert message["sender_chat"] == message["chat"] and "from" not in message
        by_id = await tg.call("sendMessage", chat_id=-1001234567890, text="Secondo avviso")
        assert by_id.json["result"]["message_id"] == message["message_id"] + 1
        posts = await tg.control("GET", "posts?channel=%40comune_avvisi")
        assert [(p["text"], p["followers"]) for p in posts] == [
            ("Mercato giovedì", 1000),
            ("Secondo avviso", 1000),
        ]
        count = await tg.call("getChatMemberCount", chat_id=CHANNEL)
        assert count.json["result"] == 1001


@run
async def test_an_unknown_channel_is_chat_not_found() -> None:
    async with running_telegram() as tg:
        answer = await tg.call("sendMessage", chat_id="@altro_comune", text="x")
        assert (answer.status, answer.json["description"]) == (400, "Bad Request: chat not found")


@run
async def test_channels_and_bots_come_from_the_config_api() -> None:
    async with running_telegram() as tg:
        patch = {
            "channels": [{"username": "@protezione_civile", "id": -1009, "followers": 42}],
            "bots": [{"token": "777:altro", "id": 777, "username": "AltroBot"}],
        }
        view = await tg.control("POST", "config", patch)
        assert [c["username"] for c in view["channels"]] == ["@comune_avvisi", "@protezione_civile"]
        answer = await tg.call("sendMessage", token="777:altro", chat_id=-1009, text="Allerta")
        assert answer.status == 200, answer.json
        posts = await tg.control("GET", "posts?channel=%40protezione_civile&bot=AltroBot")
        assert posts[0]["followers"] == 42 and posts[0]["bot"] == "AltroBot"
