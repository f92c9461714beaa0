"""X-Hub-Signature-256: HMAC-SHA256 of the exact request bytes, keyed with the app secret."""

import hashlib
import hmac


def sign(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(body: bytes, header: str | None, app_secret: str) -> bool:
    if not header or not app_secret:
        return False
    scheme, _, received = header.partition("=")
    if scheme != "sha256" or not received:
        return False
    # compare_digest raises on non-ASCII text; compared as bytes, a forged header is just wrong.
    received_bytes = received.strip().lower().encode("utf-8", "surrogateescape")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, received_bytes)
