"""The one-click unsubscribe link's token: who leaves which comune, signed so nobody can
unsubscribe someone else by editing a URL.

The token never expires: a citizen may click the link in a message years old, and leaving
must always work. It is signed with the installation's SECRET_KEY under a salt of its own, so
no other signed value of Banditore (a data export link, a session) can pass for one. The view
that takes the RFC 8058 POST (and the GET of a citizen who opens the link) reads it with
`read_token`.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "banditore.channels.email.unsubscribe"
# Under the installation's public address; the view is mounted there.
PATH = "/email/cancellami/"


class BadToken(ValueError):
    """The token was not made by this installation, or was altered."""


@dataclass(frozen=True)
class Leaver:
    organization_id: int
    address: str


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def make_token(organization_id: int, address: str) -> str:
    """URL-safe (base64url and ':'), about 90 characters for a typical address."""
    return _signer().sign_object([int(organization_id), address])


def read_token(token: str) -> Leaver:
    """Who the token is for. Raises BadToken for a forged, altered or truncated token."""
    try:
        value = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError) as exc:
        raise BadToken(f"not an unsubscribe token of this installation: {exc}") from None
    # A valid signature over something else (same salt, another shape) is still not ours.
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or isinstance(value[0], bool)
        or not isinstance(value[1], str)
    ):
        raise BadToken("not an unsubscribe token of this installation: unexpected content")
    return Leaver(value[0], value[1])


def one_click_url(public_base_url: str, organization_id: int, address: str) -> str:
    """The https URL List-Unsubscribe offers and the footer links to; `public_base_url`
    empty = the installation's PUBLIC_URL."""
    base = (public_base_url or settings.PUBLIC_URL).rstrip("/")
    return f"{base}{PATH}{make_token(organization_id, address)}"
