"""An ESP's tracking events (anymail's AnymailTrackingEvent, whatever the ESP) as the
contract's kind-free items. Pure functions: no database, no request.

    delivered             StatusItem "delivered"
    opened, clicked       StatusItem "read"
    bounced (hard)        StatusItem "failed", RECIPIENT: the address doesn't exist
    bounced (soft),       nothing: the ESP keeps trying, and a mailbox full today is not
    deferred              an unreachable citizen
    rejected              StatusItem "failed", RECIPIENT (the ESP's suppression list, an
                          invalid address); a StopItem if it was suppressed for an earlier
                          complaint or unsubscribe
    failed                StatusItem "failed", RETRY: the ESP couldn't send it, sent again
    complained            StopItem: marking us as spam is the strongest "stop"
    unsubscribed          StopItem: the ESP's own unsubscribe link or list-unsubscribe

A message is named by our Message-ID (the delivery's provider id): from the event's
metadata when the ESP echoes it (mailer.METADATA_KEY), else the event's message_id, which an
ESP relaying our SMTP message (and the sandbox) takes from the Message-ID header.

`account`: the channel's from address, when the event says who sent the message (Postmark's
bounces and complaints carry "From"); otherwise "" and the item belongs to the channel whose
webhook URL received it. A caller that knows the channel (anymail's tracking signal, wired to
a URL per channel) passes its from address as `account`.
"""

import re
from datetime import datetime
from email.utils import parseaddr

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason

from banditore.channels.base import RECIPIENT, RETRY, SendError, StatusItem, StopItem
from banditore.channels.email import errors
from banditore.channels.email.mailer import METADATA_KEY, bare_id

STATUSES = {
    EventType.SENT: "sent",
    EventType.DELIVERED: "delivered",
    EventType.OPENED: "read",
    EventType.CLICKED: "read",
}
# How ESPs name a bounce the recipient's server may still take (anymail calls several of
# them "bounced"): Postmark's Type, Brevo's and Mandrill's event, MailerSend's type.
SOFT_NAMES = {
    "softbounce",
    "soft_bounce",
    "soft_bounced",
    "activity.soft_bounced",
    "transient",
    "dnserror",
}
SMTP_REPLY = re.compile(r"(?<![\d.])([245])\d\d(?:[ \-]|$)|(?<![\d.])([245])\.\d{1,3}\.\d{1,3}")


def _esp(event: AnymailTrackingEvent) -> dict:
    return event.esp_event if isinstance(event.esp_event, dict) else {}


def soft(event: AnymailTrackingEvent) -> bool:
    """Whether a "bounced" event is a temporary failure, by the ESP's own word or else by
    the SMTP reply it quotes (4xx, or an enhanced status 4.x.x)."""
    esp = _esp(event)
    for key in ("Type", "event", "type"):
        value = esp.get(key)
        if isinstance(value, str) and value.lower() in SOFT_NAMES:
            return True
    if esp.get("hard_bounce") is False:  # Mailjet
        return True
    bounce = esp.get("bounce")
    if isinstance(bounce, dict) and bounce.get("bounceType") in ("Transient", "Undetermined"):
        return True  # Amazon SES
    reply = SMTP_REPLY.search(event.mta_response or "")
    return bool(reply) and "4" in reply.groups()


def event_account(event: AnymailTrackingEvent) -> str:
    """The sender's address, if the event names it (lower-cased, as the settings keep it)."""
    esp = _esp(event)
    for key in ("From", "from", "sender"):
        value = esp.get(key)
        if isinstance(value, str) and "@" in value:
            return parseaddr(value)[1].strip().lower()
    return ""


def provider_id(event: AnymailTrackingEvent) -> str:
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    ours = metadata.get(METADATA_KEY)
    if isinstance(ours, str) and ours:
        return bare_id(ours)
    return bare_id(event.message_id) if isinstance(event.message_id, str) else ""


def _title(event: AnymailTrackingEvent, fallback: str) -> str:
    words = [w for w in (event.mta_response, event.description) if isinstance(w, str) and w]
    return (" · ".join(words) or fallback)[:300]


def evidence(event: AnymailTrackingEvent, esp_name: str = "") -> dict:
    """The event's own words (JSON), enough to prove who said stop and when."""
    return {
        "esp": esp_name,
        "event_type": event.event_type,
        "event_id": event.event_id,
        "message_id": provider_id(event),
        "reject_reason": event.reject_reason,
        "timestamp": event.timestamp.isoformat() if isinstance(event.timestamp, datetime) else None,
        "description": (event.description or "")[:300],
    }


def items(
    event: AnymailTrackingEvent, account: str | None = None, esp_name: str = ""
) -> list[StatusItem | StopItem]:
    """The items one tracking event says; [] for what changes nothing."""
    account = event_account(event) if account is None else account
    at = event.timestamp if isinstance(event.timestamp, datetime) else None
    kind = event.event_type
    if kind in (EventType.COMPLAINED, EventType.UNSUBSCRIBED) or (
        kind == EventType.REJECTED
        and event.reject_reason in (RejectReason.SPAM, RejectReason.UNSUBSCRIBED)
    ):
        recipient = (event.recipient or "").strip().lower()
        if not recipient:
            return []
        return [StopItem(account, recipient, at, evidence(event, esp_name))]
    message = provider_id(event)
    if not message:
        return []  # nothing to match it to
    if kind in STATUSES:
        return [StatusItem(account, message, STATUSES[kind], at)]
    if kind == EventType.BOUNCED:
        if soft(event):
            return []
        error = SendError(errors.HARD_BOUNCE, _title(event, "bounced"), RECIPIENT)
        return [StatusItem(account, message, "failed", at, error)]
    if kind == EventType.REJECTED:
        error = SendError(errors.REJECTED, _title(event, "rejected by the ESP"), RECIPIENT)
        return [StatusItem(account, message, "failed", at, error)]
    if kind == EventType.FAILED:
        error = SendError(errors.ESP_FAILED, _title(event, "the ESP could not send it"), RETRY)
        return [StatusItem(account, message, "failed", at, error)]
    # queued, deferred, autoresponded, subscribed, unknown: nothing changes.
    return []
