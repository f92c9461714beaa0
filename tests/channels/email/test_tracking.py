"""Tracking: a message sent by the transport, then the sandbox's Postmark webhooks about it,
read by anymail's own Postmark view (and by this kind's webhook reader from the stored body)
and turned into the contract's items."""

from __future__ import annotations

import asyncio
import base64

import pytest

from banditore.channels.base import Action, MalformedWebhook, StatusItem, StopItem
from banditore.channels.email import errors, tracking
from banditore.channels.email.config import EmailConfig
from banditore.channels.email.webhooks import READER

from .harness import (
    CITIZEN,
    SENDER,
    TRACKING_SECRET,
    mail_sandbox,
    outgoing,
    settings,
    through_anymail,
    transport,
)


async def _sent_then(path: str, body: dict | None = None):
    """Send one message to CITIZEN, have the sink post `path`'s webhook about it; the
    provider id and the request the receiver got."""
    async with mail_sandbox(receiver_userinfo=TRACKING_SECRET) as mail:
        t = transport(mail.smtp_port)
        result = await t.send(outgoing(), t.render(outgoing()))
        assert result.error is None
        status, answer = await mail.post(path, {"to": CITIZEN, **(body or {})})
        assert status == 200 and answer["status"] == 200, answer
        [received] = mail.receiver.requests
        await t.aclose()
        return result.provider_id, received


def _items(path: str, body: dict | None = None):
    provider_id, received = asyncio.run(_sent_then(path, body))
    [event] = through_anymail(received)
    return provider_id, received, tracking.items(event)


def test_a_hard_bounce_is_a_failed_status_with_a_permanent_verdict() -> None:
    provider_id, received, items = _items("/bounce", {"kind": "hard"})
    [item] = items
    assert isinstance(item, StatusItem)
    assert (item.provider_id, item.status, item.account) == (provider_id, "failed", SENDER)
    assert item.error.code == errors.HARD_BOUNCE
    assert item.error.verdict.action == Action.RECIPIENT_PERMANENT
    assert "550 5.1.1" in item.error.title
    assert item.at is not None


def test_a_soft_bounce_is_no_failure() -> None:
    _, _, items = _items("/bounce", {"kind": "soft"})
    assert items == []


def test_a_complaint_is_the_citizens_stop_with_its_evidence() -> None:
    provider_id, _, items = _items("/complaint")
    [item] = items
    assert isinstance(item, StopItem)
    assert (item.sender, item.account) == (CITIZEN, SENDER)
    assert item.evidence["event_type"] == "complained"
    assert item.evidence["reject_reason"] == "spam"
    assert item.evidence["message_id"] == provider_id
    assert item.evidence["esp"] == ""


def test_delivery_and_open_move_the_status_forward() -> None:
    provider_id, _, items = _items("/delivery")
    # A delivery webhook doesn't say who sent it: the URL's channel it is.
    assert items == [StatusItem("", provider_id, "delivered", items[0].at)]
    provider_id, _, items = _items("/open")
    assert [(i.provider_id, i.status) for i in items] == [(provider_id, "read")]


def test_a_known_channel_names_the_account_itself() -> None:
    provider_id, received = asyncio.run(_sent_then("/delivery"))
    [event] = through_anymail(received)
    [item] = tracking.items(event, account=SENDER)
    assert item.account == SENDER


def test_the_reader_verifies_the_basic_auth_and_parses_the_stored_body_alike() -> None:
    provider_id, received = asyncio.run(_sent_then("/bounce", {"kind": "hard"}))
    config = EmailConfig.model_validate(settings(25))
    assert READER.verify(config, received.body, received.headers)
    other = EmailConfig.model_validate(settings(25, tracking_secret="postmark:altro"))
    assert not READER.verify(other, received.body, received.headers)
    assert not READER.verify(config, received.body, {})
    no_secret = EmailConfig.model_validate(settings(25, tracking_secret=""))
    assert not READER.verify(no_secret, received.body, received.headers)
    [item] = READER.parse(received.body)
    assert (item.provider_id, item.status) == (provider_id, "failed")
    assert item.error.verdict.action == Action.RECIPIENT_PERMANENT
    [event] = through_anymail(received)
    assert READER.parse(received.body) == tracking.items(event, esp_name="Postmark")


def test_the_reader_refuses_a_wrong_scheme_or_garbage_in_the_header() -> None:
    config = EmailConfig.model_validate(settings(25))
    token = base64.b64encode(TRACKING_SECRET.encode()).decode()
    assert READER.verify(config, b"{}", {"authorization": f"Basic {token}"})
    assert not READER.verify(config, b"{}", {"Authorization": f"Bearer {token}"})
    assert not READER.verify(config, b"{}", {"Authorization": "Basic !!!"})


def test_the_reader_refuses_bodies_that_are_no_tracking_event() -> None:
    for body in (b"not json", b"[1, 2]", b"\xff", b'{"FromFull": {}, "Subject": "x"}'):
        with pytest.raises(MalformedWebhook):
            READER.parse(body)
    # A well-formed event of a type that changes nothing is simply nothing.
    assert READER.parse(b'{"RecordType": "Mystery"}') == []


def test_the_reader_keeps_addresses_it_could_write_to() -> None:
    assert READER.sender_address(" Anna@Example.IT ") == "anna@example.it"
    assert READER.sender_address("not an address") is None
    assert READER.handshake(EmailConfig.model_validate(settings(25)), {}) is None
