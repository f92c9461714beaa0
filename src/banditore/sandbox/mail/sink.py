"""The SMTP side: aiosmtpd's protocol served on the application's own event loop.

aiosmtpd's `Controller` would run a second loop in a thread; serving `SMTP` with
`loop.create_server` (what the Controller does inside its thread) keeps one loop, so the
store needs no lock and the control API sees a message the moment DATA is answered.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from banditore.sandbox.mail.config import MailConfig
from banditore.sandbox.mail.store import MailStore, mailbox_key


class SinkHandler:
    """aiosmtpd handler hooks: refuse the configured bad recipients, file everything else."""

    def __init__(self, config: MailConfig, store: MailStore) -> None:
        self.config = config
        self.store = store
        self.bad = {mailbox_key(a) for a in config.bad_addresses}
        self.full = {mailbox_key(a) for a in config.full_mailboxes}

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        key = mailbox_key(address)
        if key in self.bad:
            self.store.note_refused(address)
            return "550 5.1.1 The email account that you tried to reach does not exist"
        if key in self.full:
            self.store.note_refused(address)
            return "452 4.2.2 The email account that you tried to reach is over quota"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = self.store.add(raw, envelope.mail_from or "", envelope.rcpt_tos)
        return f"250 2.0.0 OK: queued as {message.id}"


def _authenticator(config: MailConfig) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if config.username is None or config.password is None:
            return AuthResult(success=True)
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == config.username
            and auth_data.password.decode() == config.password
        )
        # handled=False: aiosmtpd answers 535 itself.
        return AuthResult(success=ok, handled=False)

    return check


async def start_server(config: MailConfig, store: MailStore) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = SinkHandler(config, store)
    auth_required = config.username is not None and config.password is not None

    def protocol() -> SMTP:
        with warnings.catch_warnings():
            # "AUTH without TLS" is the point of a local sink; say it once in the docs, not
            # once per connection.
            warnings.simplefilter("ignore", UserWarning)
            return _smtp()

    def _smtp() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=config.max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=config.hostname,
            ident="Banditore sandbox SMTP sink",
            auth_required=auth_required,
            # The sink speaks no TLS; AUTH in the clear is what a local test wants.
            auth_require_tls=False,
            authenticator=_authenticator(config),
            loop=loop,
        )

    return await loop.create_server(protocol, config.host, config.port)
