"""What the confirmation page needs: an unguessable address and the way back to WhatsApp.

The page is keyed by an encrypted token, never by the phone number, so the number stays out of
addresses, browser histories and server logs. The token names the subscriber (or, for a
request the honeypot caught, carries a made-up code: that answer must look like a real one).
"""

import base64
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import phonenumbers
import segno
from cryptography.fernet import Fernet, InvalidToken
from django.core import signing
from django.utils.crypto import salted_hmac
from pydantic import ValidationError

from banditore.channels.models import Channel
from banditore.channels.telegram.config import TelegramConfig
from banditore.core.models import Organization
from banditore.subscribers.models import Subscriber

log = logging.getLogger(__name__)

SALT = "banditore.public.signup"
# Long enough to come back to the page for the whole confirmation period of any comune.
TOKEN_MAX_AGE = timedelta(days=31)
SIGNUP_KEYWORD = "ISCRIVIMI"


@dataclass(frozen=True)
class Ticket:
    """What a token says: whose page it is, or the decoy's made-up code."""

    subscriber_id: int | None
    # The number was already active when the form was sent: nothing changed.
    already_active: bool = False
    decoy_code: str = ""
    # The last digits of the number, so a person can spot a typo without the URL holding it.
    last_digits: str = ""


# Every token's payload is padded to this many bytes before encryption, so a real sign-up's
# token and a decoy's are the same length.
PAYLOAD_BYTES = 96


def _fernet() -> Fernet:
    key = salted_hmac(SALT, "token encryption key", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def make_token(ticket: Ticket) -> str:
    """Encrypted, not only signed: a stranger who typed someone else's number must not be
    able to read in the address whether they got a real sign-up's page or a decoy's, which
    would tell them whether the number is known."""
    data = {
        "s": ticket.subscriber_id or 0,
        "a": int(ticket.already_active),
        "d": ticket.decoy_code or "",
        "t": ticket.last_digits,
    }
    payload = json.dumps(data, separators=(",", ":")).encode().ljust(PAYLOAD_BYTES)
    return _fernet().encrypt(payload).decode().rstrip("=")


def read_token(token: str) -> Ticket | None:
    """The ticket a token was made for, or None if it was forged, mangled or is too old."""
    try:
        raw = token + "=" * (-len(token) % 4)
        payload = _fernet().decrypt(raw.encode(), ttl=int(TOKEN_MAX_AGE.total_seconds()))
        data = json.loads(payload)
    except (InvalidToken, ValueError):
        return _read_signed_token(token)
    if not isinstance(data, dict):
        return None
    return _ticket(data)


def _read_signed_token(token: str) -> Ticket | None:
    """A link made before tokens were encrypted: signed only, readable until it expires."""
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    return _ticket(data)


def _ticket(data: dict) -> Ticket:
    return Ticket(
        subscriber_id=data.get("s") or None,
        already_active=bool(data.get("a")),
        decoy_code=str(data.get("d") or ""),
        last_digits=str(data.get("t") or ""),
    )


def last_digits(e164: str) -> str:
    return e164[-4:]


@dataclass(frozen=True)
class ChannelNumber:
    digits: str  # as wa.me wants it: international, no "+"
    display: str  # as a person reads it: "+39 051 000 0001"


def channel_number(org: Organization) -> ChannelNumber | None:
    """The comune's WhatsApp number citizens write to, if its channel says which it is."""
    channel = org.channels.filter(kind=Channel.Kind.WHATSAPP).order_by("id").first()
    if channel is None:
        return None
    try:
        raw = channel.whatsapp.display_phone_number
    except ValidationError:
        log.warning("channel %s has an invalid WhatsApp configuration", channel.pk)
        return None
    digits = "".join(c for c in raw if c.isdigit())
    if not digits:
        return None
    try:
        parsed = phonenumbers.parse("+" + digits)
        display = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        display = "+" + digits
    return ChannelNumber(digits=digits, display=display)


def telegram_link(org: Organization) -> str | None:
    """The comune's bot, as a link that opens its chat with a Start button (which sends
    /start: a sign-up), if the comune has one."""
    channel = org.channels.filter(kind=Channel.Kind.TELEGRAM).order_by("id").first()
    if channel is None:
        return None
    try:
        username = TelegramConfig.model_validate(channel.config).bot_username
    except ValidationError:
        log.warning("channel %s has an invalid Telegram configuration", channel.pk)
        return None
    return f"https://t.me/{username}" if username else None


def signup_message(code: str) -> str:
    return f"{SIGNUP_KEYWORD} {code}"


def whatsapp_link(number: ChannelNumber, code: str) -> str:
    """A link that opens a chat with the comune with the sign-up message already typed."""
    return whatsapp_link_for(number, signup_message(code))


def whatsapp_link_for(number: ChannelNumber, text: str) -> str:
    return f"https://wa.me/{number.digits}?text={quote(text)}"


def qr_svg(url: str, title: str) -> str:
    """The link as a QR code, an inline SVG that scales with its box (no image file, no JS)."""
    svg = segno.make(url, error="m").svg_inline(
        scale=1, omitsize=True, title=title, svgclass="qr-code", lineclass=None
    )
    return svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)


def is_decoy(ticket: Ticket) -> bool:
    return bool(ticket.decoy_code)


def subscriber_for(ticket: Ticket, org: Organization) -> Subscriber | None:
    if ticket.subscriber_id is None:
        return None
    return Subscriber.objects.filter(pk=ticket.subscriber_id, organization=org).first()
