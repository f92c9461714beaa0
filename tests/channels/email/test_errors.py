"""The error table, for the refusals the sink can't be made to give: each as the exception
smtplib or anymail raises for it."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest
from anymail.exceptions import AnymailImproperlyInstalled, AnymailUnsupportedFeature
from django.core.exceptions import ImproperlyConfigured

from banditore.channels.base import Action
from banditore.channels.email import errors

RETRY, RECIPIENT, STOP = Action.RETRY, Action.RECIPIENT_PERMANENT, Action.STOP_CHANNEL


def refused(code: int, text: bytes) -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused({"anna@example.it": (code, text)})


@pytest.mark.parametrize(
    "exc, code, action, trouble",
    [
        (refused(550, b"5.1.1 no such user"), 550, RECIPIENT, False),
        (refused(551, b"5.1.6 user not local"), 551, RECIPIENT, False),
        (refused(553, b"5.1.3 bad address syntax"), 553, RECIPIENT, False),
        (refused(452, b"4.2.2 over quota"), 452, RETRY, False),
        (refused(552, b"5.2.2 mailbox full"), 552, RETRY, False),
        (refused(421, b"4.3.2 shutting down"), 421, RETRY, True),
        # Our own relay refusing us: every recipient would get it, so no one is marked.
        (refused(554, b"5.7.1 <anna@example.it>: Relay access denied"), 554, STOP, False),
        (refused(550, b"5.7.1 Relaying denied"), 550, STOP, False),
        (refused(530, b"5.7.0 Authentication required"), 530, STOP, False),
        (smtplib.SMTPSenderRefused(550, b"5.7.1 sender not allowed", "x"), 1550, STOP, False),
        (smtplib.SMTPSenderRefused(552, b"5.3.4 message too big", "x"), 1552, STOP, False),
        (smtplib.SMTPSenderRefused(451, b"4.3.0 try later", "x"), 1451, RETRY, True),
        (smtplib.SMTPDataError(554, b"5.7.1 content rejected"), 2554, STOP, False),
        (smtplib.SMTPDataError(451, b"4.3.0 local error"), 2451, RETRY, True),
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), 3535, STOP, False),
        (smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported"), 3000, STOP, False),
        (smtplib.SMTPConnectError(554, b"no SMTP service here"), 4554, RETRY, True),
        (smtplib.SMTPHeloError(501, b"bad HELO"), 4501, RETRY, True),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), -1, RETRY, True),
        (ConnectionRefusedError(111, "Connection refused"), -1, RETRY, True),
        (TimeoutError("timed out"), -1, RETRY, True),
        (socket.gaierror(-2, "Name or service not known"), -1, RETRY, True),
        (ssl.SSLCertVerificationError("certificate verify failed"), 6005, STOP, False),
        (ssl.SSLError("wrong version number"), 6005, RETRY, True),
        (ImproperlyConfigured("api_url missing"), errors.CONFIGURATION, STOP, False),
        (AnymailImproperlyInstalled("boto3"), errors.CONFIGURATION, STOP, False),
        (AnymailUnsupportedFeature("no AMP"), errors.UNSUPPORTED, STOP, False),
    ],
)
def test_each_refusal_has_its_code_and_verdict(exc, code, action, trouble) -> None:
    error = errors.classify(exc)
    assert (error.code, error.verdict.action, error.verdict.provider_trouble) == (
        code,
        action,
        trouble,
    )
    assert len(error.title) <= 300


def test_the_title_quotes_the_servers_reply() -> None:
    assert errors.classify(refused(550, b"5.1.1 no such user")).title == "550 5.1.1 no such user"


def test_a_refusal_keeps_the_connection_and_a_drop_does_not() -> None:
    assert errors.keeps_connection(refused(550, b"no"))
    assert errors.keeps_connection(smtplib.SMTPDataError(554, b"no"))
    assert not errors.keeps_connection(refused(421, b"closing"))
    assert not errors.keeps_connection(smtplib.SMTPServerDisconnected())
    assert not errors.keeps_connection(smtplib.SMTPAuthenticationError(535, b"no"))
    assert errors.stale_connection(smtplib.SMTPServerDisconnected())
    assert errors.stale_connection(smtplib.SMTPSenderRefused(421, b"idle timeout", "x"))
    assert not errors.stale_connection(refused(550, b"no"))
