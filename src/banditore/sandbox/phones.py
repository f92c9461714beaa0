"""Recipient numbers as Meta reads them (reference §1.4)."""

from __future__ import annotations

from banditore.sandbox.errors import GraphError, invalid_parameter

# Meta accepts `+`, spaces, dashes, dots and parentheses around the digits.
_DECORATION = str.maketrans("", "", "+ -().\u00a0")


def normalise_number(raw: str) -> str:
    """Digits of an E.164 number, e.g. "+39 (333) 123-4567" → "393331234567".

    Raises GraphError 100 for what Meta rejects: a leading international `00` prefix, letters,
    or a length no E.164 number can have.
    """
    if not isinstance(raw, str):
        raise invalid_parameter("Param to must be a string.")
    digits = raw.translate(_DECORATION)
    if raw.strip().startswith("00") or digits.startswith("00"):
        # Reported against the real API (gabrieldwight/Whatsapp-Business-Cloud-Api-Net#31).
        raise invalid_parameter("Param to must be a phone number in international format.")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise invalid_parameter(f"Param to is not a valid phone number: {raw!r}.")
    return digits


def normalise_lenient(raw: str) -> str:
    """For the control API: the same digits, but a clear ValueError instead of a Graph error."""
    try:
        return normalise_number(raw)
    except GraphError as exc:
        raise ValueError(exc.details) from None
