"""Phone numbers: whatever a person types or Meta sends, stored as E.164."""

import phonenumbers
from django.conf import settings
from django.utils.crypto import salted_hmac


class InvalidNumber(ValueError):
    pass


def to_e164(raw: str, region: str = "IT") -> str:
    """'333.9135528', '0039 333 …', '+39 333 …', Meta's digits '39333…' → '+39333…'."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def from_whatsapp_id(wa_id: str) -> str:
    """Meta's `from`/`wa_id` is the international number without '+'."""
    digits = (wa_id or "").strip().lstrip("+")
    if not digits.isdigit():
        raise InvalidNumber(f"not a WhatsApp id: {wa_id!r}")
    return to_e164("+" + digits)


def phone_hash(e164: str) -> str:
    """Keyed hash that proves consent for a number after the number itself is erased."""
    return salted_hmac(
        "banditore.phone", e164, secret=settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()
