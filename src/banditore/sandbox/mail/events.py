"""Tracking webhooks in Postmark's format (one JSON object per POST, basic auth in the URL).

Postmark because its tracking webhook is the simplest to emulate faithfully: one event per
request, no signature (anymail's Postmark view checks only the basic auth in its
WEBHOOK_SECRET), and a sender using Postmark's SMTP gets Tag, Metadata and MessageStream from
`X-PM-*` headers, which the sink reads back off the stored message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any, Literal

from banditore.sandbox.mail.store import StoredMessage

BounceKind = Literal["hard", "soft"]

# Postmark's bounce types (developer docs, "Bounce types"): (Type, TypeCode, Name, Description).
_BOUNCE_TYPES: dict[str, tuple[str, int, str, str]] = {
    "hard": (
        "HardBounce",
        1,
        "Hard bounce",
        "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    ),
    "soft": (
        "SoftBounce",
        4096,
        "Soft bounce",
        "Unable to temporarily deliver this message.",
    ),
}
_BOUNCE_DETAILS = {
    "hard": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "soft": "smtp;452 4.2.2 The email account that you tried to reach is over quota.",
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def message_id_of(message: StoredMessage | None) -> str | None:
    """The Message-ID header without its angle brackets (they delimit, RFC 5322 §3.6.4)."""
    if message is None or message.message_id is None:
        return None
    return message.message_id.strip().removeprefix("<").removesuffix(">")


def _common(message: StoredMessage | None, message_id: str | None) -> dict[str, Any]:
    """What every Postmark event says about the message it is about."""
    return {
        "MessageStream": (message.header("X-PM-Message-Stream") if message else None) or "outbound",
        "MessageID": message_id or message_id_of(message) or "",
        "Tag": (message.header("X-PM-Tag") if message else None) or "",
        "Metadata": message.headers_with_prefix("X-PM-Metadata-") if message else {},
    }


def _sender(message: StoredMessage | None) -> str:
    if message is None:
        return ""
    return parseaddr(message.from_ or "")[1] or message.envelope_from


def bounce(
    event_id: int,
    server_id: int,
    recipient: str,
    kind: BounceKind,
    message: StoredMessage | None,
    message_id: str | None = None,
) -> dict[str, Any]:
    type_, code, name, description = _BOUNCE_TYPES[kind]
    return {
        "RecordType": "Bounce",
        "ID": event_id,
        "Type": type_,
        "TypeCode": code,
        "Name": name,
        "ServerID": server_id,
        "Description": description,
        "Details": _BOUNCE_DETAILS[kind],
        "Email": recipient,
        "From": _sender(message),
        "BouncedAt": _now(),
        "DumpAvailable": False,
        # A hard bounce deactivates the address at Postmark; a soft one does not.
        "Inactive": kind == "hard",
        "CanActivate": True,
        "Subject": (message.subject if message else None) or "",
        **_common(message, message_id),
    }


def complaint(
    event_id: int,
    server_id: int,
    recipient: str,
    message: StoredMessage | None,
    message_id: str | None = None,
) -> dict[str, Any]:
    return {
        "RecordType": "SpamComplaint",
        "ID": event_id,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "ServerID": server_id,
        "Description": "The subscriber explicitly marked this email as spam.",
        "Details": "",
        "Email": recipient,
        "From": _sender(message),
        "BouncedAt": _now(),
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": False,
        "Subject": (message.subject if message else None) or "",
        **_common(message, message_id),
    }


def delivery(
    server_id: int, recipient: str, message: StoredMessage | None, message_id: str | None = None
) -> dict[str, Any]:
    return {
        "RecordType": "Delivery",
        "ServerID": server_id,
        "Recipient": recipient,
        "DeliveredAt": _now(),
        "Details": "smtp;250 2.0.0 OK",
        **_common(message, message_id),
    }


def open_(recipient: str, message: StoredMessage | None, message_id: str | None = None) -> dict:
    return {
        "RecordType": "Open",
        "FirstOpen": True,
        "Recipient": recipient,
        "ReceivedAt": _now(),
        "Platform": "WebMail",
        "ReadSeconds": 0,
        "UserAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Client": {"Name": "Firefox 128.0", "Company": "Mozilla", "Family": "Firefox"},
        "OS": {"Name": "Linux", "Company": "-", "Family": "Linux"},
        "Geo": {"CountryISOCode": "IT", "Country": "Italy"},
        **_common(message, message_id),
    }
