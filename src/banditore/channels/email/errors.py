"""Why a message didn't go, classified into what the dispatcher must do.

SMTP says where it refused as much as what: the same 550 means "no such mailbox" after RCPT
TO but "you may not send as this address" after MAIL FROM. So an SMTP refusal's stable code
(Delivery.error_code) is the stage times 1,000 plus the server's reply code:

    RCPT TO       0 + code   550 / 551 / 553 no such recipient, 452 mailbox full
    MAIL FROM  1000 + code   1550 sender refused, 1552 message too large
    DATA       2000 + code   2554 content refused
    AUTH       3000 + code   3535 authentication failed (3000: AUTH or STARTTLS not offered)
    greeting   4000 + code   4421 service not available, 4554 no SMTP service here

and an ESP's HTTP answer (anymail) is 5000 plus its status. The rest are below. A broadcast
is the same message for everyone and goes through one relay: whatever the relay refuses for
the sender or the content (every stage but RCPT) would be refused for every recipient, so it
stops the channel rather than burn the list.
"""

import re
import smtplib
import ssl

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailSerializationError,
    AnymailUnsupportedFeature,
)
from django.core.exceptions import ImproperlyConfigured

from banditore.channels.base import RECIPIENT, RETRY, STOP, Action, SendError, Verdict

TROUBLE = Verdict(Action.RETRY, provider_trouble=True)
THROTTLED = Verdict(Action.RETRY, throttle_channel=True)

# No answer at all (connection refused, reset, timeout, name not found, dropped).
NETWORK_ERROR = -1
# An SMTP or ESP error of no known kind.
UNKNOWN_ERROR = -2
RCPT, MAIL, DATA, AUTH, GREETING = 0, 1000, 2000, 3000, 4000
ESP_HTTP = 5000
# The ESP refused every recipient (its suppression list: an earlier hard bounce or complaint).
RECIPIENTS_REFUSED = 6001
# The recipient's address can't be written in a message at all.
INVALID_ADDRESS = 6002
# The backend can't be set up (a missing package, a setting it refuses).
CONFIGURATION = 6003
# The ESP can't carry something the message has (anymail's unsupported feature).
UNSUPPORTED = 6004
# TLS failed: the server's certificate (stops: a wrong host or a broken server), or the
# handshake (retried: often a plain port given with smtp_use_ssl, also a network blip).
TLS_ERROR = 6005
# What tracking webhooks report after the message was accepted (tracking.py).
HARD_BOUNCE = 7001
REJECTED = 7002
ESP_FAILED = 7003

# Our own relay refusing to relay for us: every recipient would get the same answer.
RELAY_REFUSED = re.compile(
    r"relay(ing)?\s+(access\s+)?(denied|not\s+permitted|not\s+allowed|prohibited)"
    r"|authentication\s+required|not\s+authenticated",
    re.IGNORECASE,
)


def _text(message) -> str:
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace")
    return str(message)


def _error(code: int, reply_code: int | None, text: str, verdict: Verdict) -> SendError:
    title = f"{reply_code} {text}" if reply_code is not None else text
    return SendError(code, title.strip()[:300], verdict)


def recipient_refused(code: int, text: str) -> Verdict:
    if code == 421:
        return TROUBLE  # the server is closing the connection: nothing about this address
    if code in (530, 535, 538) or RELAY_REFUSED.search(text):
        return STOP  # our relay refuses to carry mail for us at all
    if code == 552:
        # RFC 5321 §4.5.3.1.10: a 552 at RCPT TO is to be taken as the temporary 452.
        return RETRY
    if 400 <= code < 500:
        return RETRY  # 450 mailbox busy, 451 local error, 452 mailbox full: try later
    if 500 <= code < 600:
        return RECIPIENT  # 550 no such user, 551 not local, 553 bad mailbox name
    return RETRY


def _stage_refused(code: int) -> Verdict:
    """MAIL FROM, DATA: the sender or the content, the same for every message."""
    if 400 <= code < 500:
        return TROUBLE
    if 500 <= code < 600:
        return STOP
    return RETRY


def smtp_error(exc: smtplib.SMTPException) -> SendError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # One recipient per message: its (code, reply) is the answer.
        address, (code, message) = next(iter(exc.recipients.items()), ("", (0, b"")))
        text = _text(message)
        return _error(RCPT + code, code, text, recipient_refused(code, text))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        code = exc.smtp_code
        return _error(MAIL + code, code, _text(exc.smtp_error), _stage_refused(code))
    if isinstance(exc, smtplib.SMTPDataError):
        code = exc.smtp_code
        return _error(DATA + code, code, _text(exc.smtp_error), _stage_refused(code))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        code = exc.smtp_code
        return _error(AUTH + code, code, _text(exc.smtp_error), STOP)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # AUTH or STARTTLS asked of a server that doesn't offer it: the settings are wrong.
        return _error(AUTH, None, f"SMTPNotSupportedError: {exc}", STOP)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _error(NETWORK_ERROR, None, f"SMTPServerDisconnected: {exc}", TROUBLE)
    if isinstance(exc, smtplib.SMTPResponseException):
        # The greeting, HELO/EHLO or STARTTLS refused: the server, not this message.
        code = exc.smtp_code
        verdict = TROUBLE if code < 500 or code == 554 else STOP
        if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
            verdict = TROUBLE
        return _error(GREETING + code, code, _text(exc.smtp_error), verdict)
    return _error(UNKNOWN_ERROR, None, f"{type(exc).__name__}: {exc}", RETRY)


def esp_error(exc: AnymailError) -> SendError:
    first = str(exc).split("\n", 1)[0]
    name = type(exc).__name__
    if isinstance(exc, AnymailRecipientsRefused):
        return _error(RECIPIENTS_REFUSED, None, f"{name}: {exc}", RECIPIENT)
    if isinstance(exc, AnymailInvalidAddress):
        # The sender was checked with the settings: what is left is the recipient's.
        return _error(INVALID_ADDRESS, None, f"{name}: {first}", RECIPIENT)
    if isinstance(exc, AnymailUnsupportedFeature | AnymailSerializationError):
        return _error(UNSUPPORTED, None, f"{name}: {first}", STOP)
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code
        if status is None:
            # requests never got an answer (refused, reset, timeout).
            cause = exc.__cause__ or exc
            return _error(NETWORK_ERROR, None, f"{type(cause).__name__}: {cause}", TROUBLE)
        return _error(ESP_HTTP + status, status, str(exc).replace("\n", " "), _by_status(status))
    return _error(UNKNOWN_ERROR, None, f"{name}: {first}", RETRY)


def _by_status(status: int) -> Verdict:
    if status == 429:
        return THROTTLED  # the ESP's rate limit: the whole channel slows down
    if status == 408:
        return RETRY
    if status >= 500:
        return TROUBLE
    if 400 <= status < 500:
        # 401/403 a revoked key, 422 a sender signature not confirmed or an account not yet
        # approved: the ESP refuses the request itself, the same for every message.
        return STOP
    return RETRY


def classify(exc: BaseException) -> SendError:
    """What to do about one failed send (or a backend that could not be set up)."""
    if isinstance(exc, AnymailError):
        return esp_error(exc)
    if isinstance(exc, ImproperlyConfigured | ImportError):
        # anymail's configuration errors (a missing api_url, boto3 not installed) too.
        return _error(CONFIGURATION, None, f"{type(exc).__name__}: {exc}", STOP)
    if isinstance(exc, smtplib.SMTPException):
        return smtp_error(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _error(TLS_ERROR, None, f"SSLCertVerificationError: {exc}", STOP)
    if isinstance(exc, ssl.SSLError):
        return _error(TLS_ERROR, None, f"{type(exc).__name__}: {exc}", TROUBLE)
    if isinstance(exc, OSError):
        # The message may or may not have reached the server; the caller retries.
        return _error(NETWORK_ERROR, None, f"{type(exc).__name__}: {exc}", TROUBLE)
    return _error(UNKNOWN_ERROR, None, f"{type(exc).__name__}: {exc}", RETRY)


def keeps_connection(exc: BaseException) -> bool:
    """Whether the SMTP connection is still good after this error: smtplib resets the
    transaction after a refusal (RSET) and the connection carries on, unless the server
    said 421 (it is closing it)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code != 421 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return exc.smtp_code != 421
    # An ESP's requests session survives an error answer; a network error is retried on it.
    return isinstance(exc, AnymailError)


def stale_connection(exc: BaseException) -> bool:
    """A reused connection the server had already dropped (an idle timeout, a restart):
    nothing was taken, so the message may go again at once on a new one."""
    if isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code == 421:
        return True
    return isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionResetError | BrokenPipeError)


# What a send may raise for provider, network or settings trouble: anything else is a bug,
# left to the dispatcher (which records it and pauses the channel).
EXPECTED = (OSError, smtplib.SMTPException, AnymailError, ImproperlyConfigured, ImportError)
