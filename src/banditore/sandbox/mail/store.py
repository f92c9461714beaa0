"""What the sink received: each message filed under every envelope recipient, parsed when read."""

from __future__ import annotations

import email
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parseaddr
from functools import cached_property
from typing import Any


def mailbox_key(address: str) -> str:
    """One mailbox per address whatever its case (local parts are case-insensitive in
    practice, though RFC 5321 lets a server treat them otherwise)."""
    return parseaddr(address)[1].strip().lower() or address.strip().lower()


@dataclass
class StoredMessage:
    """One accepted message. It is parsed on first read, not at DATA: parsing (policy=default)
    costs about 3 ms, which would cap the sink near 300 messages/s under a sending benchmark
    that never reads them."""

    id: int
    received_at: float
    envelope_from: str
    envelope_to: list[str]
    raw: bytes

    @property
    def size(self) -> int:
        return len(self.raw)

    @cached_property
    def parsed(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        return msg

    @cached_property
    def headers(self) -> list[tuple[str, str]]:
        # Unfolding leaves the space after a fold; strip it as every reader does.
        return [(k, str(v).strip()) for k, v in self.parsed.items()]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def headers_with_prefix(self, prefix: str) -> dict[str, str]:
        """Headers whose name starts with `prefix` (any case), keyed by the rest of the name."""
        n = len(prefix)
        return {k[n:]: v for k, v in self.headers if k.lower().startswith(prefix.lower())}

    @property
    def message_id(self) -> str | None:
        return self.header("Message-ID")

    @property
    def from_(self) -> str | None:
        return self.header("From")

    @property
    def subject(self) -> str | None:
        return self.header("Subject")

    @property
    def date(self) -> str | None:
        return self.header("Date")

    @cached_property
    def text(self) -> str | None:
        return _body(self.parsed, "plain")

    @cached_property
    def html(self) -> str | None:
        return _body(self.parsed, "html")

    @cached_property
    def attachments(self) -> list[dict[str, Any]]:
        return _attachments(self.parsed)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at,
            "envelope_from": self.envelope_from,
            "envelope_to": self.envelope_to,
            "size": self.size,
            "message_id": self.message_id,
            "from": self.from_,
            "to": self.header("To"),
            "cc": self.header("Cc"),
            "subject": self.subject,
            "date": self.date,
            "text": self.text,
            "html": self.html,
            "list_unsubscribe": self.header("List-Unsubscribe"),
            "list_unsubscribe_post": self.header("List-Unsubscribe-Post"),
            "headers": [[k, v] for k, v in self.headers],
            "attachments": self.attachments,
        }


def _body(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return None
    content = part.get_content()
    if not isinstance(content, str):
        return None
    # SMTP carries CRLF line ends; a reader (and a test) wants the text as written.
    return content.replace("\r\n", "\n")


def _attachments(msg: EmailMessage) -> list[dict[str, Any]]:
    found = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename is None and part.get_content_disposition() != "attachment":
            continue
        payload = part.get_payload(decode=True) or b""
        found.append(
            {"filename": filename, "content_type": part.get_content_type(), "size": len(payload)}
        )
    return found


@dataclass
class MailStore:
    max_messages: int
    messages: deque[StoredMessage] = field(default_factory=deque)
    mailboxes: dict[str, deque[StoredMessage]] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(
        default_factory=lambda: {"messages": 0, "deliveries": 0, "refused": 0, "bytes": 0}
    )
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, raw: bytes, envelope_from: str, envelope_to: list[str]) -> StoredMessage:
        message = StoredMessage(next(self._ids), time.time(), envelope_from, list(envelope_to), raw)
        self.messages.append(message)
        for rcpt in {mailbox_key(r): None for r in envelope_to}:
            self.mailboxes.setdefault(rcpt, deque()).append(message)
        self.stats["messages"] += 1
        self.stats["deliveries"] += len(envelope_to)
        self.stats["bytes"] += message.size
        while len(self.messages) > self.max_messages:
            self._forget(self.messages.popleft())
        return message

    def _forget(self, oldest: StoredMessage) -> None:
        # The oldest message overall is the oldest in each of its mailboxes too.
        for rcpt in {mailbox_key(r) for r in oldest.envelope_to}:
            box = self.mailboxes.get(rcpt)
            if box and box[0] is oldest:
                box.popleft()
                if not box:
                    del self.mailboxes[rcpt]

    def note_refused(self, address: str) -> None:
        key = mailbox_key(address)
        self.refused[key] = self.refused.get(key, 0) + 1
        self.stats["refused"] += 1

    def mailbox(self, address: str) -> list[StoredMessage]:
        return list(self.mailboxes.get(mailbox_key(address), ()))

    def latest(self, address: str) -> StoredMessage | None:
        box = self.mailboxes.get(mailbox_key(address))
        return box[-1] if box else None

    def reset(self) -> None:
        self.messages.clear()
        self.mailboxes.clear()
        self.refused.clear()
        for key in self.stats:
            self.stats[key] = 0
