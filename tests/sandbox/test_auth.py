"""The access token is checked like Graph does (reference §1.2)."""

from __future__ import annotations

from .harness import run, running_sandbox, text_body


@run
async def test_it_answers_190_and_401_without_a_token() -> None:
    async with running_sandbox() as sb:
        reply = await sb.send(text_body(), token=None)
        assert reply.status == 401
        assert reply.json["error"]["code"] == 190
        assert reply.json["error"]["type"] == "OAuthException"
        assert "invalid_token" in reply.headers["WWW-Authenticate"]


@run
async def test_it_answers_190_and_401_for_a_wrong_token() -> None:
    async with running_sandbox() as sb:
        reply = await sb.send(text_body(), token="EAAG-wrong")
        assert reply.status == 401
        assert reply.json["error"]["code"] == 190
        assert reply.json["error"]["fbtrace_id"]


@run
async def test_it_accepts_the_token_as_access_token_query_parameter() -> None:
    async with running_sandbox() as sb:
        reply = await sb.request(
            "POST",
            "/v23.0/106540352242922/messages?access_token=sandbox-token",
            token=None,
            json=text_body(),
        )
        assert reply.status == 200, reply.json
