"""Bounce, complaint, delivery and open webhooks: Postmark's payloads, with basic auth."""

from __future__ import annotations

import base64
import json

from tests.sandbox.harness import run
from tests.sandbox.mail.harness import SENDER, mail_sandbox, news_message

A = "anna@example.it"
AUTH = "postmark:webhook-secret"


def _auth_header(userinfo: str) -> str:
    return "Basic " + base64.b64encode(userinfo.encode()).decode()


@run
async def test_a_hard_bounce_posts_postmarks_bounce_with_basic_auth():
    async with mail_sandbox(receiver_userinfo=AUTH) as mail:
        await mail.send(news_message([A], X_PM_Tag="notizie", X_PM_Metadata_delivery="42"))
        status, answer = await mail.post("/bounce", {"to": A, "kind": "hard"})
        assert (status, answer["status"]) == (200, 200)
        [request] = mail.receiver.requests
        assert (request.method, request.path) == ("POST", "/anymail/postmark/tracking/")
        assert request.headers["Authorization"] == _auth_header(AUTH)
        assert request.headers["Content-Type"].startswith("application/json")
        payload = json.loads(request.body)
        assert payload == answer["payload"]
        assert {k: payload[k] for k in ("RecordType", "Type", "TypeCode", "Name")} == {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "TypeCode": 1,
            "Name": "Hard bounce",
        }
        assert payload["Email"] == A
        assert payload["MessageID"] == "b1.d42@comune.example.it"
        assert payload["From"] == SENDER
        assert payload["Subject"] == "Strada chiusa"
        assert payload["Tag"] == "notizie"
        assert payload["Metadata"] == {"delivery": "42"}
        assert payload["MessageStream"] == "outbound"
        assert payload["Inactive"] is True
        assert payload["BouncedAt"].endswith("Z")
        assert isinstance(payload["ID"], int) and isinstance(payload["ServerID"], int)


@run
async def test_a_soft_bounce_is_postmarks_soft_bounce_and_leaves_the_address_active():
    async with mail_sandbox() as mail:
        status, answer = await mail.post(
            "/bounce", {"to": A, "kind": "soft", "message_id": "given-id"}
        )
        assert status == 200
        payload = answer["payload"]
        assert (payload["Type"], payload["TypeCode"], payload["Inactive"]) == (
            "SoftBounce",
            4096,
            False,
        )
        assert payload["MessageID"] == "given-id"  # an explicit id wins, even with no mail


@run
async def test_a_complaint_posts_postmarks_spam_complaint():
    async with mail_sandbox(receiver_userinfo=AUTH) as mail:
        await mail.send(news_message([A]))
        status, _ = await mail.post("/complaint", {"to": A})
        assert status == 200
        [request] = mail.receiver.requests
        assert request.headers["Authorization"] == _auth_header(AUTH)
        payload = json.loads(request.body)
        assert (payload["RecordType"], payload["Type"], payload["TypeCode"]) == (
            "SpamComplaint",
            "SpamComplaint",
            512,
        )
        assert (payload["Email"], payload["MessageID"]) == (A, "b1.d42@comune.example.it")


@run
async def test_delivery_and_open_events_name_the_recipient():
    async with mail_sandbox() as mail:
        await mail.send(news_message([A], X_PM_Message_Stream="broadcast"))
        assert (await mail.post("/delivery", {"to": A}))[0] == 200
        assert (await mail.post("/open", {"to": A}))[0] == 200
        delivered, opened = (json.loads(r.body) for r in mail.receiver.requests)
        assert (delivered["RecordType"], delivered["Recipient"]) == ("Delivery", A)
        assert (opened["RecordType"], opened["Recipient"]) == ("Open", A)
        assert delivered["MessageStream"] == opened["MessageStream"] == "broadcast"
        assert (await mail.get("/stats"))["webhooks_sent"] == 2


@run
async def test_the_receivers_answer_is_reported_back():
    async with mail_sandbox() as mail:
        mail.receiver.status = 400
        status, answer = await mail.post("/bounce", {"to": A})
        assert (status, answer["status"]) == (200, 400)


@run
async def test_without_a_callback_url_or_an_address_it_says_why():
    async with mail_sandbox(callback_url="") as mail:
        status, answer = await mail.post("/complaint", {"to": A})
        assert status == 409 and "callback_url" in answer["error"]
        status, answer = await mail.post("/bounce", {"kind": "hard"})
        assert status == 400 and "'to'" in answer["error"]
    async with mail_sandbox() as mail:
        status, answer = await mail.post("/bounce", {"to": A, "kind": "medium"})
        assert status == 400 and mail.receiver.requests == []
