"""The Bot API's envelope, auth, parameter encodings and sendMessage's checks."""

from __future__ import annotations

from .harness import CITIZEN, TOKEN, run, running_telegram


@run
async def test_it_answers_get_me_with_the_configured_bot() -> None:
    async with running_telegram() as tg:
        answer = await tg.call("getMe")
        assert answer.status == 200
        assert answer.json["ok"] is True
        me = answer.json["result"]
        assert me["id"] == 123456789 and me["is_bot"] is True
        assert me["username"] == "ComuneBot" and me["can_join_groups"] is False


@run
async def test_it_refuses_an_unknown_token_with_401() -> None:
    async with running_telegram() as tg:
        answer = await tg.call("getMe", token="123:nope")
        assert answer.status == 401
        assert answer.json == {"ok": False, "error_code": 401, "description": "Unauthorized"}


@run
async def test_it_treats_method_names_case_insensitively_and_unknown_ones_as_404() -> None:
    async with running_telegram() as tg:
        assert (await tg.call("GETME")).status == 200
        answer = await tg.call("sendCarrierPigeon")
        assert answer.status == 404
        assert answer.json == {"ok": False, "error_code": 404, "description": "Not Found"}


@run
async def test_a_message_to_a_started_chat_is_received_with_increasing_ids() -> None:
    async with running_telegram() as tg:
        started = await tg.start(text="/start abc123")
        first = await tg.call("sendMessage", chat_id=CITIZEN, text="Benvenuto!")
        assert first.status == 200, first.json
        message = first.json["result"]
        assert message["chat"] == {"id": CITIZEN, "first_name": "Cittadino", "type": "private"}
        assert message["from"]["is_bot"] is True and message["text"] == "Benvenuto!"
        assert message["message_id"] == started["message_id"] + 1
        received = await tg.received()
        assert [m["text"] for m in received] == ["Benvenuto!"]
        assert received[0]["message_id"] == message["message_id"]
        assert received[0]["type"] == "text"


@run
async def test_it_takes_parameters_as_a_form_or_a_query_string() -> None:
    async with running_telegram() as tg:
        await tg.start()
        form = await tg.call_form("sendMessage", {"chat_id": str(CITIZEN), "text": "Dal modulo"})
        assert form.status == 200, form.json
        url = f"{tg.url}/bot{TOKEN}/sendMessage?chat_id={CITIZEN}&text=Dalla%20query"
        async with tg.session.get(url) as r:
            assert r.status == 200
        assert [m["text"] for m in await tg.received()] == ["Dal modulo", "Dalla query"]


@run
async def test_a_user_who_never_started_the_bot_is_chat_not_found() -> None:
    async with running_telegram() as tg:
        answer = await tg.call("sendMessage", chat_id=999, text="Ciao")
        assert answer.status == 400
        assert answer.json["description"] == "Bad Request: chat not found"
        assert await tg.received(999) == []


@run
async def test_it_refuses_empty_and_too_long_texts() -> None:
    async with running_telegram() as tg:
        await tg.start()
        empty = await tg.call("sendMessage", chat_id=CITIZEN, text="")
        assert (empty.status, empty.json["description"]) == (
            400,
            "Bad Request: message text is empty",
        )
        long = await tg.call("sendMessage", chat_id=CITIZEN, text="a" * 4097)
        assert long.json["description"] == "Bad Request: message is too long"
        # The limit counts the text after entities parsing: markup is free.
        exact = "<b>" + "a" * 4096 + "</b>"
        ok = await tg.call("sendMessage", chat_id=CITIZEN, text=exact, parse_mode="HTML")
        assert ok.status == 200, ok.json
        assert ok.json["result"]["entities"] == [{"offset": 0, "length": 4096, "type": "bold"}]


@run
async def test_bad_html_and_markdown_v2_are_refused_as_telegram_does() -> None:
    async with running_telegram() as tg:
        await tg.start()
        unclosed = await tg.call("sendMessage", chat_id=CITIZEN, text="<b>Ciao", parse_mode="HTML")
        assert unclosed.status == 400
        assert unclosed.json["description"] == (
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
        )
        unknown = await tg.call("sendMessage", chat_id=CITIZEN, text="<p>x</p>", parse_mode="HTML")
        assert unknown.json["description"] == (
            'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0'
        )
        dot = await tg.call(
            "sendMessage", chat_id=CITIZEN, text="Ore 9.30", parse_mode="MarkdownV2"
        )
        assert dot.json["description"] == (
            "Bad Request: can't parse entities: "
            "Character '.' is reserved and must be escaped with the preceding '\\'"
        )
        mode = await tg.call("sendMessage", chat_id=CITIZEN, text="x", parse_mode="BBCode")
        assert mode.json["description"] == "Bad Request: unsupported parse_mode"
        assert await tg.received() == []


@run
async def test_good_markup_becomes_plain_text_and_entities() -> None:
    async with running_telegram() as tg:
        await tg.start()
        html = '<b>Allerta</b> &amp; <a href="https://comune.example/">dettagli</a>'
        a = await tg.call("sendMessage", chat_id=CITIZEN, text=html, parse_mode="HTML")
        assert a.json["result"]["text"] == "Allerta & dettagli"
        assert a.json["result"]["entities"][1] == {
            "offset": 10,
            "length": 8,
            "type": "text_link",
            "url": "https://comune.example/",
        }
        md = await tg.call(
            "sendMessage", chat_id=CITIZEN, text="*Ore* 9\\.30", parse_mode="MarkdownV2"
        )
        assert md.json["result"]["text"] == "Ore 9.30"
        assert (await tg.received())[-1]["parse_mode"] == "MarkdownV2"
