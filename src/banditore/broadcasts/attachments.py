"""A broadcast's image or PDF: checked when the operator attaches it, uploaded to the
channel once, and the provider's id reused for every recipient.

The type is read from the file's first bytes, never from its name or from what a client
says: an .exe renamed .pdf is refused here, not by Meta after the send has started (a type
that does not match what the message says is Meta's most common media error, 131053).

Uploading is claimed with a conditional UPDATE rather than a row lock held across the
upload: on SQLite a lock is the whole database's write lock, and a 16 MB upload can take
longer than the other processes' 20-second busy timeout. While an upload is under way the
row has no provider_id and its uploaded_at is the moment of the claim.
"""

import hashlib
import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from pydantic import ValidationError

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Actor, Refused
from banditore.broadcasts.media import BroadcastMedia
from banditore.broadcasts.models import Broadcast
from banditore.channels.models import Channel
from banditore.channels.whatsapp import media as whatsapp_media
from banditore.channels.whatsapp.errors import HTTP_ERROR, NETWORK_ERROR

log = logging.getLogger(__name__)

MB = 1 << 20
FILENAME_MAX = 240  # BroadcastMedia.filename
# WhatsApp keeps an upload 30 days (reference §7.1): a day less, so an id never expires
# while a broadcast that started on its last day is still draining.
REUSE_FOR = timedelta(days=29)
# A claim older than this belongs to a worker that died mid-upload: another takes it over.
CLAIM_SECONDS = whatsapp_media.UPLOAD_TIMEOUT + 30
# How often a worker waiting for another's upload looks again.
WAIT_STEP_SECONDS = 0.2


@dataclass(frozen=True)
class Kind:
    mime_type: str
    magic: bytes  # how the file starts
    extensions: tuple[str, ...]  # the first is added to a name that has none of them
    provider_max: int  # Meta's limit (reference §7.4)
    label: Promise  # as "WhatsApp accepts … of at most 5 MB" reads


KINDS = (
    Kind("image/jpeg", b"\xff\xd8\xff", (".jpg", ".jpeg"), 5 * MB, gettext_lazy("images")),
    Kind("image/png", b"\x89PNG\r\n\x1a\n", (".png",), 5 * MB, gettext_lazy("images")),
    # The PDF standard lets readers accept junk before the header; we don't: a file that
    # needs that leniency is one a citizen's phone may not open.
    Kind("application/pdf", b"%PDF-", (".pdf",), 100 * MB, gettext_lazy("PDF documents")),
)
HEAD_BYTES = max(len(k.magic) for k in KINDS)


def installation_max() -> int:
    """The installation's own cap: the bytes live in the database (settings.py)."""
    return int(settings.BANDITORE_ATTACHMENT_MAX_BYTES)


def largest() -> int:
    """No attachment of any kind can be larger than this."""
    return max(min(k.provider_max, installation_max()) for k in KINDS)


def size_text(n: int) -> str:
    """A size as the operator reads it, in the active language ("2,5 MB")."""
    if n < 1024:
        return ngettext("%(n)d byte", "%(n)d bytes", n) % {"n": n}
    value, unit = (n / MB, "MB") if n >= MB else (n / 1024, "KB")
    value = round(value, 1)
    return f"{number_format(value, decimal_pos=0 if value == int(value) else 1)} {unit}"


def check(head: bytes, size: int) -> Kind:
    """The file's kind from its first bytes, within its limits; Refused otherwise."""
    if size <= 0:
        raise Refused("empty_file", _("The file is empty."))
    kind = next((k for k in KINDS if head.startswith(k.magic)), None)
    if kind is None:
        raise Refused(
            "unsupported_file",
            _(
                "This file is not a JPEG or PNG image nor a PDF, whatever its name says: "
                "only these can be attached."
            ),
        )
    if size > kind.provider_max:
        raise Refused(
            "file_too_large",
            _("The file is %(size)s: WhatsApp accepts %(kind)s of at most %(limit)s.")
            % {"size": size_text(size), "kind": kind.label, "limit": size_text(kind.provider_max)},
        )
    if size > installation_max():
        raise Refused(
            "file_too_large",
            _(
                "The file is %(size)s: this installation accepts attachments of at most "
                "%(limit)s (BANDITORE_ATTACHMENT_MAX_BYTES)."
            )
            % {"size": size_text(size), "limit": size_text(installation_max())},
        )
    return kind


_SPACES = re.compile(r"\s+")
# Control, format (e.g. the right-to-left override that turns "fdp.exe" around),
# private-use, surrogate and unassigned characters.
_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Cn"}


def clean_filename(name: str, kind: Kind) -> str:
    """What a citizen sees as the PDF's name: no path, no control characters, at most 240
    characters, ending with the extension of what the file really is."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # a Windows path too
    name = "".join(
        " " if c.isspace() else c
        for c in name
        if c.isspace() or unicodedata.category(c) not in _INVISIBLE
    )
    name = _SPACES.sub(" ", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if dot and f".{extension.lower()}" in kind.extensions:
        extension = f".{extension}"
    else:
        stem, extension = name, kind.extensions[0]
    stem = stem.rstrip(" .") or _("attachment")
    stem = stem[: FILENAME_MAX - len(extension)].rstrip(" .") or _("attachment")
    return stem + extension


@transaction.atomic
def attach(broadcast: Broadcast, by: Actor, *, content: bytes, filename: str) -> BroadcastMedia:
    """Attach the file to a broadcast that may still be edited, replacing any other."""
    kind = check(content[:HEAD_BYTES], len(content))
    name = clean_filename(filename, kind)
    broadcast = lifecycle._locked(broadcast)
    lifecycle._check(broadcast, "update")
    sha256 = hashlib.sha256(content).hexdigest()
    previous = (
        BroadcastMedia.objects.filter(broadcast=broadcast)
        .values("sha256", "mime_type", "provider_id", "uploaded_at")
        .first()
    )
    fields = {"mime_type": kind.mime_type, "filename": name, "size": len(content)}
    fields.update(sha256=sha256, content=content, provider_id="", uploaded_at=None)
    if previous and previous["sha256"] == sha256 and previous["mime_type"] == kind.mime_type:
        # The same bytes under another name: the provider's copy is still theirs (the name a
        # citizen sees goes in each message, not in the upload).
        fields.update(provider_id=previous["provider_id"], uploaded_at=previous["uploaded_at"])
    media, _created = BroadcastMedia.objects.update_or_create(broadcast=broadcast, defaults=fields)
    lifecycle._record(
        broadcast,
        by,
        "attached",
        filename=name,
        mime_type=kind.mime_type,
        size=len(content),
        sha256=sha256,
        replaced=previous is not None,
    )
    return media


@transaction.atomic
def detach(broadcast: Broadcast, by: Actor) -> bool:
    """Remove the broadcast's attachment while it may be edited; whether it had one."""
    broadcast = lifecycle._locked(broadcast)
    lifecycle._check(broadcast, "update")
    removed = (
        BroadcastMedia.objects.filter(broadcast=broadcast).values("filename", "sha256").first()
    )
    if removed is None:
        return False
    BroadcastMedia.objects.filter(broadcast=broadcast).delete()
    lifecycle._record(broadcast, by, "detached", **removed)
    return True


def describe(broadcast: Broadcast) -> dict | None:
    """Name, type and size of the attachment, without loading its bytes."""
    return (
        BroadcastMedia.objects.filter(broadcast_id=broadcast.pk)
        .values("filename", "mime_type", "size")
        .first()
    )


# -- The provider's copy.


def _usable(row: dict, now) -> bool:
    return bool(row["provider_id"]) and row["uploaded_at"] > now - REUSE_FOR


def ensure_uploaded(broadcast: Broadcast) -> str | None:
    """The media id of the broadcast's attachment on its channel, uploading it if there is
    none yet or it is 29 days old; None without an attachment. However many workers ask at
    once, one uploads and the others wait for its id. A failed upload is Refused with the
    provider's reason."""
    deadline = time.monotonic() + CLAIM_SECONDS
    while True:
        now = timezone.now()
        rows = BroadcastMedia.objects.filter(broadcast_id=broadcast.pk)
        row = rows.values("pk", "provider_id", "uploaded_at").first()
        if row is None:
            return None
        if _usable(row, now):
            return row["provider_id"]
        uploading = not row["provider_id"] and row["uploaded_at"] is not None
        if uploading and row["uploaded_at"] > now - timedelta(seconds=CLAIM_SECONDS):
            if time.monotonic() > deadline:
                raise Refused(
                    "media_upload",
                    _("The attachment is still being uploaded by another worker: try again."),
                )
            time.sleep(WAIT_STEP_SECONDS)  # another worker uploads it: wait for its id
            continue
        # Claim it: only one UPDATE finds the row as it was just read.
        claimed = rows.filter(
            pk=row["pk"], provider_id=row["provider_id"], uploaded_at=row["uploaded_at"]
        ).update(provider_id="", uploaded_at=now)
        if claimed:
            media_id = _upload(broadcast, row["pk"], now)
            if media_id is not None:
                return media_id
        # Lost the claim, or the file was replaced during the upload: look again.


def _upload(broadcast: Broadcast, pk: int, claimed_at) -> str | None:
    claim = BroadcastMedia.objects.filter(pk=pk, provider_id="", uploaded_at=claimed_at)
    media = BroadcastMedia.objects.filter(pk=pk).first()
    if media is None:
        return None
    # Read afresh: a caller's broadcast may carry a channel from before its settings changed.
    channel = Channel.objects.get(pk=broadcast.channel_id)
    try:
        media_id = _send(broadcast, channel, media)
    except Refused:
        claim.update(uploaded_at=None)  # let the next attempt upload at once
        raise
    if not claim.update(provider_id=media_id, uploaded_at=timezone.now()):
        return None  # replaced meanwhile: this id is of the old file
    lifecycle._record(
        broadcast,
        lifecycle.SYSTEM,
        "media_uploaded",
        media_id=media_id,
        sha256=media.sha256,
        account=channel.config.get("phone_number_id", ""),
    )
    return media_id


def _send(broadcast: Broadcast, channel: Channel, media: BroadcastMedia) -> str:
    if channel.kind != "whatsapp":
        raise Refused(
            "media_unsupported",
            _("Channel %(channel)s can't carry attachments.") % {"channel": channel.name},
        )
    try:
        config = channel.whatsapp
    except ValidationError:
        raise Refused(
            "channel_settings",
            _("The settings of channel %(channel)s are not valid: fix them in the console.")
            % {"channel": channel.name},
        ) from None
    try:
        return whatsapp_media.upload(config, bytes(media.content), media.mime_type, media.filename)
    except whatsapp_media.MediaUploadError as failed:
        log.warning("upload of broadcast %s's attachment failed: %s", broadcast.pk, failed)
        if failed.code in (NETWORK_ERROR, HTTP_ERROR):
            message = _(
                "The attachment could not be uploaded: the provider could not be reached or "
                "did not answer as it should (%(reason)s). Nothing was sent; try again."
            ) % {"reason": failed.title}
        else:
            message = _(
                "The provider refused the attachment (code %(code)d: %(reason)s). Nothing was sent."
            ) % {"code": failed.code, "reason": failed.title}
        raise Refused("media_upload", message) from failed
