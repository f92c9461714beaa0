"""/api/broadcasts: the press office's job for another system, one service call per action."""

import csv
import io
import json
from datetime import datetime
from typing import Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override
from ninja import File, Router, Schema, Status, UploadedFile
from pydantic import AwareDatetime, ConfigDict, Field, field_validator

from banditore.api import testkeys
from banditore.api.errors import ApiError
from banditore.api.keys import need
from banditore.api.models import TestBroadcast
from banditore.broadcasts import attachments, cost, lifecycle, templating
from banditore.broadcasts import progress as live
from banditore.broadcasts.models import Broadcast, Priority

router = Router(tags=["broadcasts"])

PRIORITIES = {"normal": Priority.NORMAL, "urgent": Priority.URGENT, "emergency": Priority.EMERGENCY}
NAMES = {value: name for name, value in PRIORITIES.items()}
TEXT_MAX = 900
# Refusals about what was asked rather than about the broadcast's state.
BAD_INPUT = {
    "empty_text", "text_too_long", "bad_priority", "unknown_topic", "unknown_zone", "no_channel",
    "bad_field",
    "naive_time", "in_the_past", "no_numbers", "invalid_number", "too_many_numbers",
    "unknown_template", "template_params", "template_too_long", "template_header",
    "template_not_synced",
}  # fmt: skip
# A template's parameters: by placeholder name ({"1": "…"} or {"titolo": "…"}) or in order.
TemplateParams = dict[str, str] | list[str]
OUTCOME_FIELDS = [
    "phone",
    "status",
    "error_code",
    "error_title",
    "skip_reason",
    "sent_at",
    "delivered_at",
    "read_at",
]


def _storable(value):
    """Text a column can hold: PostgreSQL refuses a NUL, and a lone surrogate (which JSON's
    \\u escapes can spell) is not UTF-8. Either reached the database and answered 500."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text may not contain a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text may not contain an unpaired surrogate") from None
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    return value


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _text_is_storable(cls, value):
        return _storable(value)


class BroadcastIn(Strict):
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    title: str = Field("", max_length=200)
    topics: list[str] = Field(default_factory=list, max_length=100)
    # Zone slugs: only subscribers living in one of them (none: anywhere).
    zones: list[str] = Field(default_factory=list, max_length=100)
    priority: Literal["normal", "urgent", "emergency"] = "normal"
    channel: int | None = None
    # "name" or "name:language" of one of the channel's templates; none = its default.
    template: str | None = Field(None, max_length=530)
    template_params: TemplateParams | None = Field(None, max_length=20)


class BroadcastPatch(Strict):
    text: str | None = Field(None, min_length=1, max_length=TEXT_MAX)
    title: str | None = Field(None, max_length=200)
    topics: list[str] | None = Field(None, max_length=100)
    zones: list[str] | None = Field(None, max_length=100)
    priority: Literal["normal", "urgent", "emergency"] | None = None
    # "" goes back to the channel's default template.
    template: str | None = Field(None, max_length=530)
    template_params: TemplateParams | None = Field(None, max_length=20)


class PreviewOut(Schema):
    """What a phone shows: outside the citizen's window the template, inside it the text."""

    template: str | None
    header: str
    body: str
    footer: str
    free_text: str


class ScheduleIn(Strict):
    at: AwareDatetime


class TestIn(Strict):
    numbers: list[str] = Field(min_length=1, max_length=10)


class MediaOut(Schema):
    filename: str
    mime_type: str
    size: int


class BroadcastOut(Schema):
    id: int
    status: str
    title: str
    text: str
    topics: list[str]
    zones: list[str] = []
    priority: str
    channel: int
    created_at: datetime
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    audience_size: int
    test: bool
    dry_run: bool = False
    media: MediaOut | None = None
    template: str | None = None
    template_params: dict[str, str] = {}
    preview: PreviewOut | None = None
    # Why it is paused when nobody chose to (its template changed at WhatsApp).
    paused_reason: str = ""


class FailureOut(Schema):
    code: int | None
    title: str
    count: int


class StatusOut(Schema):
    id: int
    status: str
    audience_size: int
    counts: dict[str, int]
    failed_by_error: list[FailureOut]
    skipped_by_reason: dict[str, int]
    # Messages accepted per second over the last 30 s, and the channel's cap.
    rate_per_second: float
    cap_per_second: int
    remaining: int
    # When what can go now will have gone (None: nothing is being sent).
    eta_seconds: float | None
    eta: datetime | None
    # Held back by WhatsApp's messaging limit until tier_until (then they go by themselves).
    tier_waiting: int
    tier_until: datetime | None
    retrying: int
    # The same, as an operator reads it, in the request's language.
    summary: list[str]


class TestSent(Schema):
    sent: int
    dry_run: bool = False


class Retried(Schema):
    retried: int
    dry_run: bool = False


def _visible(key):
    """The comune's broadcasts; for a test key, only the test broadcasts."""
    test_ids = TestBroadcast.objects.values("broadcast_id")
    broadcasts = Broadcast.objects.filter(organization=key.organization)
    if key.is_test:
        return broadcasts.filter(pk__in=test_ids)
    return broadcasts


def _get(key, broadcast_id: int) -> Broadcast:
    return get_object_or_404(_visible(key), pk=broadcast_id)


def _actor(key):
    return lifecycle.Actor(
        label=f"api:{key.name}",
        may_send_emergency_alone="broadcasts:emergency" in key.scopes,
        may_override_budget=False,
    )


def _out(broadcast: Broadcast, *, dry_run: bool = False) -> dict:
    return {
        "id": broadcast.pk,
        "status": broadcast.status,
        "title": broadcast.title,
        "text": broadcast.text,
        "topics": sorted(t.slug for t in broadcast.topics.all()),
        "zones": sorted(z.slug for z in broadcast.zones.all()),
        "priority": NAMES.get(broadcast.priority, str(broadcast.priority)),
        "channel": broadcast.channel_id,
        "created_at": broadcast.created_at,
        "scheduled_at": broadcast.scheduled_at,
        "started_at": broadcast.started_at,
        "finished_at": broadcast.finished_at,
        "audience_size": broadcast.audience_size,
        "test": TestBroadcast.objects.filter(broadcast_id=broadcast.pk).exists(),
        "dry_run": dry_run,
        "media": attachments.describe(broadcast),
        "template": f"{broadcast.template.name}:{broadcast.template.language}"
        if broadcast.template_id
        else None,
        "template_params": broadcast.template_params or {},
        "preview": templating.preview(broadcast),
        "paused_reason": broadcast.paused_reason,
    }


def _topics(key, slugs: list[str]):
    found = list(key.organization.topics.filter(slug__in=slugs))
    unknown = sorted(set(slugs) - {t.slug for t in found})
    if unknown:
        raise ApiError(
            422,
            "unknown_topic",
            _("Unknown topic: %(topics)s."),
            {"topics": ", ".join(unknown)},
            topics=unknown,
        )
    return found


class _Undo(Exception):
    pass


def _call(action, *args, **kwargs):
    """The service call, its refusal as a 409 (or 422 for bad input) in both languages."""
    try:
        with override("it"):
            return action(*args, **kwargs)
    except lifecycle.Refused as refused:
        status = 422 if refused.code in BAD_INPUT else 409
        english = _english(refused, action, *args, **kwargs)
        raise ApiError(status, refused.code, refused.message, english=english) from refused


def _english(refused, action, *args, **kwargs) -> str:
    """The service words its refusals in the active language only: ask it again in English,
    in a savepoint always rolled back (it refuses before acting, and nothing it did stays)."""
    try:
        with override("en"), transaction.atomic():
            action(*args, **kwargs)
            raise _Undo
    except lifecycle.Refused as again:
        if again.code == refused.code:
            return again.message
    except Exception:  # noqa: BLE001 - any surprise: the Italian stands for both
        pass
    return refused.message


def _never_for_real(key, broadcast):
    if not key.is_test and testkeys.is_test_broadcast(broadcast):
        raise ApiError(
            409,
            "test_broadcast",
            _("This broadcast was created with a test key: it can't be sent."),
        )


def _transition(request, broadcast_id: int, action, scope="broadcasts:write", starts=False, **kw):
    key = need(request, scope)
    broadcast = _get(key, broadcast_id)
    if starts:
        _never_for_real(key, broadcast)
    with testkeys.dry_run(key.is_test):
        broadcast = _call(action, broadcast, _actor(key), **kw)
        out = _out(broadcast, dry_run=key.is_test)
    return out


@router.get("", response=list[BroadcastOut], summary="List broadcasts, newest first")
def list_broadcasts(request, status: str | None = None, limit: int = 50, offset: int = 0):
    """Scope: `broadcasts:read`. At most 200 per page."""
    key = need(request, "broadcasts:read")
    broadcasts = _visible(key).order_by("-id").prefetch_related("topics", "zones")
    if status:
        broadcasts = broadcasts.filter(status=status)
    limit, offset = max(1, min(limit, 200)), max(0, offset)
    return [_out(b) for b in broadcasts[offset : offset + limit]]


@router.post("", response={201: BroadcastOut}, summary="Create a draft")
def create(request, data: BroadcastIn):
    """Scope: `broadcasts:write`. A test key's broadcast is a test broadcast."""
    key = need(request, "broadcasts:write")
    channel = None
    if data.channel is not None:
        channel = key.organization.channels.filter(pk=data.channel).first()
        if channel is None:
            raise ApiError(422, "unknown_channel", _("The comune has no channel with that id."))
    broadcast = _call(
        lifecycle.create,
        key.organization,
        _actor(key),
        text=data.text,
        title=data.title,
        topics=_topics(key, data.topics),
        zones=data.zones,
        priority=PRIORITIES[data.priority],
        channel=channel,
        template=data.template,
        template_params=data.template_params,
    )
    if key.is_test:
        TestBroadcast.objects.create(broadcast=broadcast, api_key=key)
    return Status(201, _out(broadcast))


@router.get("/{int:broadcast_id}", response=BroadcastOut, summary="Read a broadcast")
def read(request, broadcast_id: int):
    """Scope: `broadcasts:read`."""
    return _out(_get(need(request, "broadcasts:read"), broadcast_id))


@router.patch("/{int:broadcast_id}", response=BroadcastOut, summary="Change a draft")
def update(request, broadcast_id: int, data: BroadcastPatch):
    """Scope: `broadcasts:write`. Only a draft changes; the fields sent replace the old ones."""
    key = need(request, "broadcasts:write")
    broadcast = _get(key, broadcast_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "topics" in changes:
        changes["topics"] = _topics(key, changes["topics"])
    if "priority" in changes:
        changes["priority"] = PRIORITIES[changes["priority"]]
    return _out(_call(lifecycle.update, broadcast, _actor(key), **changes))


@router.post("/{int:broadcast_id}/submit", response=BroadcastOut, summary="Submit a draft")
def submit(request, broadcast_id: int):
    """Scope: `broadcasts:write`. To approval, or straight to approved where the comune
    needs no second person."""
    key = need(request, "broadcasts:write")
    return _out(_call(lifecycle.submit, _get(key, broadcast_id), _actor(key)))


@router.post("/{int:broadcast_id}/approve", response=BroadcastOut, summary="Approve")
def approve(request, broadcast_id: int):
    """Scope: `broadcasts:approve`. Never by the key that created it. Dry run with a test key."""
    return _transition(request, broadcast_id, lifecycle.approve, "broadcasts:approve", True)


@router.post("/{int:broadcast_id}/schedule", response=BroadcastOut, summary="Schedule")
def schedule(request, broadcast_id: int, data: ScheduleIn):
    """Scope: `broadcasts:write`. `at` with its UTC offset. Dry run with a test key."""
    return _transition(request, broadcast_id, lifecycle.schedule, starts=True, at=data.at)


@router.post("/{int:broadcast_id}/send", response=BroadcastOut, summary="Send now")
def send(request, broadcast_id: int):
    """Scope: `broadcasts:write` (an emergency draft alone: also `broadcasts:emergency`).
    Dry run with a test key."""
    return _transition(request, broadcast_id, lifecycle.send, starts=True)


@router.post("/{int:broadcast_id}/pause", response=BroadcastOut, summary="Pause sending")
def pause(request, broadcast_id: int):
    """Scope: `broadcasts:write`. Dry run with a test key."""
    return _transition(request, broadcast_id, lifecycle.pause)


@router.post("/{int:broadcast_id}/resume", response=BroadcastOut, summary="Resume sending")
def resume(request, broadcast_id: int):
    """Scope: `broadcasts:write`. Dry run with a test key."""
    return _transition(request, broadcast_id, lifecycle.resume)


@router.post("/{int:broadcast_id}/cancel", response=BroadcastOut, summary="Cancel")
def cancel(request, broadcast_id: int):
    """Scope: `broadcasts:write`. What is still queued is dropped. Dry run with a test key."""
    return _transition(request, broadcast_id, lifecycle.cancel)


@router.post("/{int:broadcast_id}/retry-failed", response=Retried, summary="Retry the failed")
def retry_failed(request, broadcast_id: int):
    """Scope: `broadcasts:write`. Dry run with a test key."""
    key = need(request, "broadcasts:write")
    broadcast = _get(key, broadcast_id)
    with testkeys.dry_run(key.is_test):
        retried = _call(lifecycle.retry_failed, broadcast, _actor(key))
    return {"retried": retried, "dry_run": key.is_test}


@router.post("/{int:broadcast_id}/test", response=TestSent, summary="Test send")
def test_send(request, broadcast_id: int, data: TestIn):
    """Scope: `broadcasts:write`. The rendered message to up to 10 operator numbers; never
    needs approval. With a test key only through a channel that points at the sandbox."""
    key = need(request, "broadcasts:write")
    broadcast = _get(key, broadcast_id)
    if key.is_test and not testkeys.reaches_only_sandbox(broadcast.channel):
        raise ApiError(
            403,
            "test_key_live_channel",
            _("A test key sends only through a channel that points at the sandbox."),
        )
    return {"sent": _call(lifecycle.test_send, broadcast, _actor(key), data.numbers)}


# A bad file is the request's fault: 422, or 413 when it is too large.
FILE_ERRORS = {"empty_file": 422, "unsupported_file": 422, "file_too_large": 413}


def _attach(broadcast, by, upload):
    # The size is known before reading: a 300 MB upload is refused without loading it.
    upload.seek(0)
    if upload.size > attachments.largest():
        attachments.check(upload.read(attachments.HEAD_BYTES), upload.size)
    upload.seek(0)
    attachments.attach(broadcast, by, content=upload.read(), filename=upload.name or "")
    return broadcast


def _detach(broadcast, by):
    attachments.detach(broadcast, by)
    return broadcast


def _media_call(action, request, broadcast_id: int, *args):
    key = need(request, "broadcasts:write")
    broadcast = _get(key, broadcast_id)
    try:
        return _out(_call(action, broadcast, _actor(key), *args))
    except ApiError as error:
        error.status = FILE_ERRORS.get(error.code, error.status)
        raise


@router.post("/{int:broadcast_id}/media", response=BroadcastOut, summary="Attach an image or a PDF")
def attach_media(request, broadcast_id: int, file: File[UploadedFile]):
    """Scope: `broadcasts:write`. `multipart/form-data` with the file in `file`: a JPEG or
    PNG image (at most 5 MB) or a PDF (at most the installation's limit, 16 MB unless set
    otherwise); the type is read from the file itself, and the name is what a citizen sees
    for a PDF. Replaces any earlier attachment; only while the broadcast is a draft."""
    return _media_call(_attach, request, broadcast_id, file)


@router.delete("/{int:broadcast_id}/media", response=BroadcastOut, summary="Remove the attachment")
def detach_media(request, broadcast_id: int):
    """Scope: `broadcasts:write`. Only while the broadcast is a draft; nothing to remove is
    not an error."""
    return _media_call(_detach, request, broadcast_id)


@router.get("/{int:broadcast_id}/status", response=StatusOut, summary="Delivery counts")
def status(request, broadcast_id: int):
    """Scope: `broadcasts:read`. How many deliveries are in each state, the failures by
    error and the skips by reason, the send rate now, when it ends, and what WhatsApp's
    messaging limit holds back until when."""
    broadcast = _get(need(request, "broadcasts:read"), broadcast_id)
    now = live.progress(broadcast)
    return {
        "id": broadcast.pk,
        "status": broadcast.status,
        "audience_size": broadcast.audience_size,
        **now.as_dict(),
        "eta": now.eta,
        "tier_until": now.tier_until,
        "summary": live.describe(now, broadcast.organization.time_zone),
    }


class OutcomeOut(Schema):
    phone: str
    status: str
    error_code: int | None
    error_title: str
    skip_reason: str
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None


@router.get(
    "/{int:broadcast_id}/outcomes",
    response=list[OutcomeOut],
    summary="Per-recipient outcomes (JSON or CSV)",
)
def outcomes(request, broadcast_id: int):
    """Scope: `broadcasts:read`. One row per recipient, streamed (a broadcast may have a
    hundred thousand); `Accept: text/csv` for a CSV file."""
    broadcast = _get(need(request, "broadcasts:read"), broadcast_id)
    rows = ({f: row.get(f) for f in OUTCOME_FIELDS} for row in lifecycle.outcomes(broadcast))
    if "text/csv" not in request.headers.get("Accept", ""):
        return StreamingHttpResponse(_json_lines(rows), content_type="application/json")
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="broadcast-{broadcast.pk}.csv"'
    return response


def _json_lines(rows):
    yield "["
    for n, row in enumerate(rows):
        yield ("," if n else "") + json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False)
    yield "]"


def _csv_lines(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=OUTCOME_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({f: _cell(v) for f, v in row.items()})
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value):
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else value


@router.get("/{int:broadcast_id}/estimate", summary="Cost, reach and duration before sending")
def estimate(request, broadcast_id: int):
    """Scope: `broadcasts:read`. Recipients, how many in a free window, the estimated cost by
    category and country (EUR), the time at the channel's rate, the rate card's date."""
    broadcast = _get(need(request, "broadcasts:read"), broadcast_id)
    result = cost.estimate(broadcast)
    return result.as_dict()
