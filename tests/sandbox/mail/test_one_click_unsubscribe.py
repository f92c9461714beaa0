"""POST unsubscribe-click does what a mail client's RFC 8058 button does."""

from __future__ import annotations

from tests.sandbox.harness import run
from tests.sandbox.mail.harness import mail_sandbox, news_message

A = "anna@example.it"


@run
async def test_it_posts_the_one_click_body_to_the_latest_messages_header_url():
    async with mail_sandbox() as mail:
        older = news_message([A])
        older.replace_header("List-Unsubscribe", f"<{mail.receiver.url}/u/older>")
        await mail.send(older)
        latest = news_message([A])
        latest.replace_header(
            "List-Unsubscribe", f"<mailto:u@example.it>, <{mail.receiver.url}/u/tok3n?c=1>"
        )
        await mail.send(latest)
        mail.receiver.status = 202
        status, answer = await mail.post("/unsubscribe-click", {"to": A})
        assert (status, answer["status"]) == (200, 202)
        assert answer["url"] == f"{mail.receiver.url}/u/tok3n?c=1"
        [request] = mail.receiver.requests
        assert (request.method, request.path) == ("POST", "/u/tok3n")
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert request.body == b"List-Unsubscribe=One-Click"
        assert "Cookie" not in request.headers and "Authorization" not in request.headers


@run
async def test_a_redirect_is_reported_not_followed():
    async with mail_sandbox() as mail:
        msg = news_message([A])
        msg.replace_header("List-Unsubscribe", f"<{mail.receiver.url}/u/x>")
        await mail.send(msg)
        mail.receiver.status = 302
        mail.receiver.response_headers = {"Location": f"{mail.receiver.url}/login"}
        status, answer = await mail.post("/unsubscribe-click", {"to": A})
        assert (status, answer["status"]) == (200, 302)
        assert [r.path for r in mail.receiver.requests] == ["/u/x"]


@run
async def test_without_list_unsubscribe_post_there_is_no_one_click():
    async with mail_sandbox() as mail:
        msg = news_message([A])
        msg.replace_header("List-Unsubscribe", f"<{mail.receiver.url}/u/x>")
        del msg["List-Unsubscribe-Post"]
        await mail.send(msg)
        status, answer = await mail.post("/unsubscribe-click", {"to": A})
        assert status == 422 and "List-Unsubscribe-Post" in answer["error"]
        assert mail.receiver.requests == []


@run
async def test_a_mailto_only_header_or_no_mail_at_all_is_refused():
    async with mail_sandbox() as mail:
        status, _ = await mail.post("/unsubscribe-click", {"to": A})
        assert status == 404
        msg = news_message([A])
        msg.replace_header("List-Unsubscribe", "<mailto:u@example.it>")
        await mail.send(msg)
        status, answer = await mail.post("/unsubscribe-click", {"to": A})
        assert status == 422 and "http" in answer["error"]
        assert mail.receiver.requests == []
