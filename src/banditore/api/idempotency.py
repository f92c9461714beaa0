"""`Idempotency-Key` on POST: a retry gets the first response, and nothing acts twice.

The record is inserted first, in the same transaction as the action: a concurrent retry
with the same key waits on the unique index (PostgreSQL) or on the write lock (SQLite's
BEGIN IMMEDIATE) until the first commits, then replays what it stored. If the first fails
with a 5xx, everything rolls back, record included, and a retry acts afresh.
"""

import functools
import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banditore.api import keys
from banditore.api.errors import error_response
from banditore.api.models import IdempotentResponse

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
KEY_MAX = 255


def guard(run):
    """A ninja view-mode decorator: wraps an operation before auth and validation."""

    @functools.wraps(run)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return run(request, *args, **kwargs)
        if not key.strip() or len(key) > KEY_MAX:
            return error_response(
                422,
                "invalid_idempotency_key",
                _("The Idempotency-Key header must be 1 to %(max)d characters."),
                {"max": KEY_MAX},
            )
        api_key = keys.from_request(request)
        if api_key is None:
            return run(request, *args, **kwargs)  # answers 401
        try:
            body_hash = _digest(request)
        except Exception:  # noqa: BLE001 - too big: let the operation answer 413
            return run(request, *args, **kwargs)
        return _once(
            request,
            api_key.organization_id,
            key,
            body_hash,
            lambda: run(request, *args, **kwargs),
        )

    return wrapper


def _digest(request) -> str:
    """The body as a retry sends it again. A form's multipart boundary is new with every
    request, and its files may be larger than Django reads into memory: a form is hashed by
    its fields and its files' names and bytes (read in chunks, then rewound for the view)."""
    if request.content_type != "multipart/form-data":
        return hashlib.sha256(request.body).hexdigest()
    digest = hashlib.sha256(b"multipart\0")
    for name, values in sorted(request.POST.lists()):
        for value in values:
            digest.update(f"{name}\0{value}\0".encode())
    for name, files in sorted(request.FILES.lists()):
        for upload in files:
            digest.update(f"{name}\0{upload.name}\0{upload.size}\0".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


class _Rollback(Exception):
    def __init__(self, response):
        self.response = response


def _once(request, organization_id: int, key: str, body_hash: str, act) -> HttpResponse:
    where = {
        "organization_id": organization_id,
        "key": key,
        "method": request.method,
        "path": request.path,
    }
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotentResponse.objects.create(**where, request_hash=body_hash)
            except IntegrityError:
                record = None
            if record is None:
                return _replay(IdempotentResponse.objects.get(**where), body_hash)
            response = act()
            if response.status_code >= 500 or getattr(response, "streaming", False):
                raise _Rollback(response)
            record.status_code = response.status_code
            record.content_type = response.get("Content-Type", "")
            record.body = response.content.decode("utf-8", "replace")
            record.save(update_fields=["status_code", "content_type", "body"])
            return response
    except _Rollback as failed:
        return failed.response


def _replay(record: IdempotentResponse, body_hash: str) -> HttpResponse:
    if record.request_hash != body_hash:
        return error_response(
            422,
            "idempotency_key_reused",
            _("This Idempotency-Key was already used with a different request body."),
        )
    response = HttpResponse(
        record.body, status=record.status_code, content_type=record.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def purge(now=None) -> int:
    """Delete the responses older than 24 hours (a periodic job)."""
    cutoff = (now or timezone.now()) - KEPT_FOR
    deleted, _rows = IdempotentResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted
