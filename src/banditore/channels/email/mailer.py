"""The blocking side: Django's mail API over a few kept-open connections.

Django's backends block (smtplib, requests), so the transport runs `Mailer.send` in a small
thread pool of its own, one thread per connection: a connection is used by one send at a
time and goes back to the pool afterwards, open, so a drain is one SMTP session (or one HTTP
keep-alive session with the ESP) per thread, not a TCP and TLS handshake and a login per
message. A connection that failed is closed and dropped; the next send opens a new one.
"""

import logging
import threading
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection

from banditore.channels.base import SendResult
from banditore.channels.email import errors

log = logging.getLogger(__name__)

# anymail's generic metadata (every ESP that has metadata echoes it in its tracking
# webhooks) and Postmark's SMTP header for the same: our Message-ID, so an ESP that puts
# its own id in the webhook still names the delivery we keep.
METADATA_KEY = "banditore-id"
POSTMARK_METADATA_HEADER = "X-PM-Metadata-" + METADATA_KEY


def bare_id(message_id: str) -> str:
    """A Message-ID without its angle brackets (they delimit it, RFC 5322 §3.6.4): how
    ESPs and the sandbox report it."""
    return message_id.strip().removeprefix("<").removesuffix(">")


class Mailer:
    def __init__(self, backend: str, settings: dict[str, Any], sender: str, reply_to: str | None):
        self.backend = backend
        self.settings = settings
        self.sender = sender
        self.reply_to = [reply_to] if reply_to else []
        self.esp = not backend.startswith("django.")
        self._idle: list = []
        self._lock = threading.Lock()
        self.opened = 0  # connections opened so far (what keeping them open saves)

    def _take(self):
        with self._lock:
            if self._idle:
                return self._idle.pop(), False
        connection = get_connection(self.backend, fail_silently=False, **self.settings)
        return connection, True

    def _give_back(self, connection) -> None:
        with self._lock:
            self._idle.append(connection)

    def _message(self, payload: dict, connection) -> EmailMultiAlternatives:
        headers = {**payload["headers"], "Message-ID": payload["message_id"]}
        if not self.esp:
            headers[POSTMARK_METADATA_HEADER] = bare_id(payload["message_id"])
        message = EmailMultiAlternatives(
            subject=payload["subject"],
            body=payload["text"],
            from_email=self.sender,
            to=[payload["to"]],
            reply_to=self.reply_to,
            headers=headers,
            connection=connection,
        )
        message.attach_alternative(payload["html"], "text/html")
        if self.esp:
            message.metadata = {METADATA_KEY: bare_id(payload["message_id"])}
        return message

    def _send_on(self, connection, payload: dict) -> Any:
        message = self._message(payload, connection)
        # Opened here, not by send_messages: a connection that send_messages opens itself
        # it also closes after the message.
        if connection.open():
            self.opened += 1
        connection.send_messages([message])
        return message

    def send(self, payload: dict) -> SendResult:
        """Send one rendered message. Never raises for provider, network or settings trouble."""
        try:
            connection, fresh = self._take()
        except errors.EXPECTED as exc:
            return SendResult(error=errors.classify(exc))
        try:
            try:
                message = self._send_on(connection, payload)
            except errors.EXPECTED as exc:
                if fresh or not errors.stale_connection(exc):
                    raise
                # The server dropped the kept connection while it was idle: nothing was taken.
                _close(connection)
                connection, fresh = self._take()
                message = self._send_on(connection, payload)
        except errors.EXPECTED as exc:
            error = errors.classify(exc)
            if errors.keeps_connection(exc):
                self._give_back(connection)
            else:
                _close(connection)
            return SendResult(error=error)
        except BaseException:
            _close(connection)
            raise
        self._give_back(connection)
        return SendResult(provider_id=bare_id(payload["message_id"]), note=_note(message))

    def close(self) -> None:
        """Close every idle connection (QUIT for SMTP); blocking."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            _close(connection)

    def drop(self) -> None:
        """Close every idle connection's socket without a word to the server: for a
        finaliser, which must not block on the network."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            smtp = getattr(connection, "connection", None)
            try:
                if smtp is not None:
                    smtp.close()
                    connection.connection = None
                else:
                    connection.close()
            except Exception:  # noqa: BLE001 - finalising: nothing more to do about it
                pass


def _close(connection) -> None:
    try:
        connection.close()
    except Exception as exc:  # noqa: BLE001 - already failed: a clean QUIT is a courtesy
        log.debug("closing a mail connection failed: %r", exc)


def _note(message) -> str:
    """An ESP's own id for the message, if it has one: kept on the delivery for whoever
    looks it up in the ESP's console."""
    status = getattr(message, "anymail_status", None)
    esp_id = getattr(status, "message_id", None) if status is not None else None
    if isinstance(esp_id, str) and esp_id:
        return f"ESP id {esp_id}"[:300]
    return ""
