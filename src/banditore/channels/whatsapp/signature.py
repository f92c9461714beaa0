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
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.strip().lower())
