"""The mail sink's knobs, strict like the rest of the sandbox's config (a typo is an error)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# 10 MB: what most providers accept per message (Postmark: 10 MB including attachments).
DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class MailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    host: str = "127.0.0.1"
    # 0 picks a free port; `MailSandbox.smtp_port` says which one was bound.
    port: int = Field(default=8025, ge=0, le=65535)
    # The name the server gives in its greeting and EHLO answer (never looked up: getfqdn()
    # can take seconds on a machine without DNS).
    hostname: str = "smtp.sandbox.banditore.local"
    # Both set: AUTH PLAIN/LOGIN with these is required before MAIL. Unset: no AUTH needed,
    # and any credentials a client offers are accepted (Django logs in whenever
    # EMAIL_HOST_USER is set).
    username: str | None = None
    password: str | None = None
    # RCPT TO one of these is refused at SMTP time: 550 5.1.1 (hard) / 452 4.2.2 (soft).
    bad_addresses: list[str] = Field(default_factory=list)
    full_mailboxes: list[str] = Field(default_factory=list)
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1)
    # Where Postmark-format tracking webhooks go; basic-auth credentials ride in the URL
    # (https://user:password@host/path), as Postmark configures them. Empty = nowhere.
    callback_url: str = ""
    # The oldest messages are forgotten beyond this (memory bound for long benchmarks).
    max_stored_messages: int = Field(default=50_000, ge=1)
    # Postmark's "ServerID" in every webhook.
    server_id: int = 1
