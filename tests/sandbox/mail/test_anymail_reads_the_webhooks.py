"""django-anymail's own Postmark tracking view reads what the sink posts: the proof that the
payloads are Postmark's, not a look-alike. (The sink itself imports no Django.)"""

from __future__ import annotations

import asyncio

import pytest

from tests.sandbox.mail.harness import Received, mail_sandbox, news_message

anymail_postmark = pytest.importorskip("anymail.webhooks.postmark")

A = "anna@example.it"
SECRET = "postmark:webhook-secret"


def _through_anymail(received: Received, secret: str = SECRET):
    """Replay the request the receiver got into anymail's real view; return its events."""
    from anymail.signals import tracking
    from django.test import RequestFactory, override_settings

    request = RequestFactory().post(
        received.path,
        data=received.body,
        content_type=received.headers["Content-Type"],
        HTTP_AUTHORIZATION=received.headers["Authorization"],
    )
    events = []

    def collect(sender, event, esp_name, **kwargs):
        events.append(event)

    tracking.connect(collect)
    try:
        # The setting Banditore will set: ANYMAIL["WEBHOOK_SECRET"] = "user:password".
        with override_settings(ANYMAIL={"WEBHOOK_SECRET": secret}):
            view = anymail_postmark.PostmarkTrackingWebhookView.as_view()
            response = view(request)
    finally:
        tracking.disconnect(collect)
    return response.status_code, events


async def _webhook(path: str, body: dict) -> Received:
    async with mail_sandbox(receiver_userinfo=SECRET) as mail:
        await mail.send(news_message([A], X_PM_Metadata_delivery="42"))
        status, _ = await mail.post(path, body)
        assert status == 200
        [received] = mail.receiver.requests
        return received


def test_anymail_reads_a_hard_bounce_as_bounced_for_that_recipient():
    received = asyncio.run(_webhook("/bounce", {"to": A, "kind": "hard"}))
    status, [event] = _through_anymail(received)
    assert status == 200
    assert (event.event_type, event.reject_reason) == ("bounced", "bounced")
    assert (event.recipient, event.message_id) == (A, "b1.d42@comune.example.it")
    assert event.timestamp is not None
    assert event.metadata == {"delivery": "42"}


def test_anymail_reads_a_soft_bounce_as_bounced_and_a_complaint_as_complained():
    received = asyncio.run(_webhook("/bounce", {"to": A, "kind": "soft"}))
    assert [e.event_type for e in _through_anymail(received)[1]] == ["bounced"]
    received = asyncio.run(_webhook("/complaint", {"to": A}))
    [event] = _through_anymail(received)[1]
    assert (event.event_type, event.reject_reason, event.recipient) == ("complained", "spam", A)


def test_anymail_reads_delivery_and_open():
    for path, expected in (("/delivery", "delivered"), ("/open", "opened")):
        received = asyncio.run(_webhook(path, {"to": A}))
        [event] = _through_anymail(received)[1]
        assert (event.event_type, event.recipient) == (expected, A)


def test_anymail_refuses_the_webhook_with_another_secret():
    from anymail.exceptions import AnymailWebhookValidationFailure

    received = asyncio.run(_webhook("/bounce", {"to": A}))
    # A SuspiciousOperation: Django's handler answers it with 400.
    with pytest.raises(AnymailWebhookValidationFailure):
        _through_anymail(received, secret="postmark:other")
