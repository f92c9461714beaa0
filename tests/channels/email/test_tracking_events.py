"""tracking.items for the events other ESPs send, built as anymail's own views build them
(AnymailTrackingEvent with the ESP's raw event): the ones the sandbox doesn't post."""

from __future__ import annotations

from datetime import UTC, datetime

from anymail.signals import AnymailTrackingEvent

from banditore.channels.base import Action, StatusItem, StopItem
from banditore.channels.email import tracking

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def event(event_type: str, **fields) -> AnymailTrackingEvent:
    fields.setdefault("message_id", "abc.1@comune.example.it")
    fields.setdefault("recipient", "anna@example.it")
    return AnymailTrackingEvent(event_type=event_type, timestamp=AT, **fields)


def test_our_message_id_in_the_metadata_wins_over_the_esps_own() -> None:
    e = event("delivered", message_id="esp-uuid-1", metadata={"banditore-id": "<ours.1@x.it>"})
    assert tracking.items(e) == [StatusItem("", "ours.1@x.it", "delivered", AT)]


def test_soft_bounces_by_the_esps_word_or_the_smtp_reply_are_no_failure() -> None:
    assert tracking.items(event("bounced", esp_event={"event": "soft_bounce"})) == []  # Brevo
    assert tracking.items(event("bounced", esp_event={"hard_bounce": False})) == []  # Mailjet
    ses = {"bounce": {"bounceType": "Transient"}}
    assert tracking.items(event("bounced", esp_event=ses)) == []
    assert tracking.items(event("bounced", mta_response="452 4.2.2 Mailbox full")) == []
    assert tracking.items(event("deferred")) == []


def test_a_bounce_quoting_a_5xx_reply_or_nothing_is_hard() -> None:
    for e in (event("bounced", mta_response="smtp; 550 5.1.1 user unknown"), event("bounced")):
        [item] = tracking.items(e)
        assert item.status == "failed"
        assert item.error.verdict.action == Action.RECIPIENT_PERMANENT


def test_rejections_fail_the_address_unless_the_citizen_had_said_stop() -> None:
    [item] = tracking.items(event("rejected", reject_reason="invalid"))
    assert item.error.verdict.action == Action.RECIPIENT_PERMANENT
    for reason in ("spam", "unsubscribed"):
        [item] = tracking.items(event("rejected", reject_reason=reason))
        assert isinstance(item, StopItem) and item.sender == "anna@example.it"


def test_an_esp_failure_is_retried_and_an_unsubscribe_is_a_stop() -> None:
    [item] = tracking.items(event("failed", description="template error"))
    assert item.error.verdict.action == Action.RETRY
    assert item.error.title == "template error"
    [item] = tracking.items(event("unsubscribed", recipient="Anna@Example.it"))
    assert isinstance(item, StopItem) and item.sender == "anna@example.it"
    assert item.evidence["timestamp"] == AT.isoformat()


def test_what_names_no_message_or_no_one_changes_nothing() -> None:
    assert tracking.items(event("delivered", message_id=None)) == []
    assert tracking.items(event("complained", recipient=None)) == []
    assert tracking.items(event("queued")) == []
    assert [i.status for i in tracking.items(event("clicked"))] == ["read"]
