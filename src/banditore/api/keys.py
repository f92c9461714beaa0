"""Issuing API keys and finding the key a request presents."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from banditore.api.errors import ApiError
from banditore.api.models import SCOPES, ApiKey

# last_used_at is for the office's "which keys are still in use": a write per minute at
# most, not one per request.
TOUCH_EVERY = timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(organization, name: str, scopes, *, test: bool = False) -> tuple[ApiKey, str]:
    """A new key and its secret, which is stored nowhere: show it once."""
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        kind=ApiKey.Kind.TEST if test else ApiKey.Kind.LIVE,
        scopes=sorted(set(scopes)),
        prefix=secret[:8],
        hash=digest(secret),
    )
    return key, secret


def find(secret: str) -> ApiKey | None:
    if not secret or len(secret) > 200:
        return None
    key = (
        ApiKey.objects.select_related("organization")
        .filter(hash=digest(secret), revoked_at__isnull=True)
        .first()
    )
    if key is not None:
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def from_request(request) -> ApiKey | None:
    """The key in `Authorization: Bearer <key>`, remembered on the request."""
    if not hasattr(request, "_api_key"):
        scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
        request._api_key = find(secret.strip()) if scheme.lower() == "bearer" else None
    return request._api_key


class BearerKey(HttpBearer):
    def __call__(self, request):
        return from_request(request)

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return from_request(request)


def need(request, scope: str) -> ApiKey:
    key = request.auth
    if scope not in key.scopes:
        raise ApiError(
            403,
            "missing_scope",
            _("This API key lacks the scope %(scope)s."),
            {"scope": scope},
            scope=scope,
        )
    return key
