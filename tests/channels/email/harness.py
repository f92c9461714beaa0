"""E-mail channel tests' shared pieces: a channel's settings for the sandbox's mail sink, a
Channel-like object for the transport, anymail's real Postmark view fed with what the sink
posted, and a stand-in for Postmark's send API on a free local port."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from aiohttp import web

from banditore.broadcasts.models import Delivery
from banditore.channels.base import Outgoing
from banditore.channels.email.transport import EmailTransport
from tests.sandbox.harness import run, serving  # noqa: F401 (re-exported)
from tests.sandbox.mail.harness import Received, mail_sandbox  # noqa: F401 (re-exported)

SENDER = "notizie@comune.example.it"
CITIZEN = "anna@example.it"
ORG_ID = 7
TRACKING_SECRET = "postmark:webhook-secret"


def settings(port: int, **changes: Any) -> dict[str, Any]:
    """A channel's config for the sink on `port`, as an operator would save it."""
    return {
        "from_email": SENDER,
        "from_name": "Comune di Esempio",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "tracking_secret": TRACKING_SECRET,
        "public_base_url": "https://notizie.comune.example.it",
        **changes,
    }


def transport(port: int, timeout: float = 5.0, **changes: Any) -> EmailTransport:
    channel = SimpleNamespace(pk=1, organization_id=ORG_ID, config=settings(port, **changes))
    return EmailTransport(channel, None, timeout)


def outgoing(
    recipient: str = CITIZEN,
    text: str = "Ciao",
    kind: str = Delivery.Kind.REPLY,
    broadcast_id: int | None = None,
    id: int = 1,
) -> Outgoing:
    return Outgoing(
        id=id,
        kind=kind,
        recipient=recipient,
        text=text,
        broadcast_id=broadcast_id,
        priority=1,
        attempts=0,
        created_at=datetime.now(UTC),
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def through_anymail(received: Received, secret: str = TRACKING_SECRET) -> list:
    """Replay a request the sink posted into anymail's real Postmark tracking view; the
    events it signalled."""
    from anymail.signals import tracking
    from anymail.webhooks.postmark import PostmarkTrackingWebhookView
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
        # The setting anymail's views read: ANYMAIL["WEBHOOK_SECRET"] = "user:password".
        with override_settings(ANYMAIL={"WEBHOOK_SECRET": secret}):
            response = PostmarkTrackingWebhookView.as_view()(request)
    finally:
        tracking.disconnect(collect)
    assert response.status_code == 200
    return events


@dataclass
class FakePostmark:
    """Stands in for Postmark's POST /email: answers `answers` in turn (then success) and
    keeps every request's JSON."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    answers: list[tuple[int, dict]] = field(default_factory=list)


@asynccontextmanager
async def fake_postmark() -> AsyncIterator[FakePostmark]:
    fake = FakePostmark()

    async def email(request: web.Request) -> web.Response:
        body = await request.json()
        fake.requests.append({"token": request.headers.get("X-Postmark-Server-Token"), **body})
        if fake.answers:
            status, answer = fake.answers.pop(0)
            return web.json_response(answer, status=status)
        return web.json_response(
            {
                "To": body["To"],
                "SubmittedAt": datetime.now(UTC).isoformat(),
                "MessageID": f"pm-{len(fake.requests)}",
                "ErrorCode": 0,
                "Message": "OK",
            }
        )

    app = web.Application()
    app.router.add_post("/email", email)
    async with serving(app) as url:
        fake.url = url + "/"
        yield fake


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
