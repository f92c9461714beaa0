"""A broadcast's image or PDF: its type read from its bytes, its size and name checked when
it is attached, only while the broadcast may change; and the CLI's attach/detach."""

import io
import struct
import zlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import translation

from banditore.broadcasts import attachments, lifecycle
from banditore.broadcasts.attachments import KINDS, clean_filename
from banditore.broadcasts.lifecycle import Refused
from banditore.broadcasts.media import BroadcastMedia
from banditore.core.models import AuditEvent
from tests.broadcasts.conftest import EDITOR, draft, in_state


def png() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + (b"\xff\xd9")
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00;"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
TEXT = b"Ordinanza n. 12: chiusura di via Roma"

KIND = {k.mime_type: k for k in KINDS}


def code_of(call) -> str:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.code


# -- The type, from the bytes.


@pytest.mark.parametrize(
    "content, name, mime",
    [
        (JPEG, "foto.jpg", "image/jpeg"),
        (png(), "mappa.png", "image/png"),
        (PDF, "ordinanza.pdf", "application/pdf"),
        (PDF, "ordinanza.jpg", "application/pdf"),  # the name doesn't decide
        (JPEG, "volantino", "image/jpeg"),
    ],
)
def test_jpeg_png_and_pdf_are_recognised_by_their_bytes(comune, content, name, mime):
    media = attachments.attach(draft(comune), EDITOR, content=content, filename=name)
    media.refresh_from_db()
    assert media.mime_type == mime
    assert bytes(media.content) == content and media.size == len(content)


@pytest.mark.parametrize(
    "content, name",
    [
        (GIF, "animazione.gif"),
        (TEXT, "ordinanza.txt"),
        (TEXT, "ordinanza.pdf"),
        (EXE, "ordinanza.pdf"),  # a program renamed
        (b"  %PDF-1.4\n", "spazi.pdf"),  # junk before the header
        (b"\xff\xd8", "corto.jpg"),  # too short to be what it starts like
    ],
)
def test_anything_else_is_refused_whatever_its_name(comune, content, name):
    b = draft(comune)
    call = lambda: attachments.attach(b, EDITOR, content=content, filename=name)  # noqa: E731
    assert code_of(call) == "unsupported_file"
    assert not BroadcastMedia.objects.exists()


def test_an_empty_file_is_refused(comune):
    b = draft(comune)
    assert code_of(lambda: attachments.attach(b, EDITOR, content=b"", filename="x.pdf")) == (
        "empty_file"
    )


def test_the_refusal_says_in_italian_what_can_be_attached(comune):
    with pytest.raises(Refused) as refused:
        attachments.attach(draft(comune), EDITOR, content=EXE, filename="ordinanza.pdf")
    assert "JPEG" in refused.value.message and "PDF" in refused.value.message
    assert "immagine" in refused.value.message


# -- Sizes: Meta's limits and the installation's.


def test_an_image_above_metas_5_mb_is_refused_naming_the_limit(comune):
    big = JPEG + b"\x00" * (5 * 2**20)
    with pytest.raises(Refused) as refused:
        attachments.attach(draft(comune), EDITOR, content=big, filename="foto.jpg")
    assert refused.value.code == "file_too_large"
    assert "5 MB" in refused.value.message and "WhatsApp" in refused.value.message


def test_exactly_at_the_limit_is_accepted(comune):
    with override_settings(BANDITORE_ATTACHMENT_MAX_BYTES=len(PDF)):
        media = attachments.attach(draft(comune), EDITOR, content=PDF, filename="o.pdf")
    assert media.size == len(PDF)


@override_settings(BANDITORE_ATTACHMENT_MAX_BYTES=2048)
def test_a_pdf_above_the_installations_cap_is_refused_naming_the_cap(comune):
    big = PDF + b"\x00" * 2048
    with pytest.raises(Refused) as refused:
        attachments.attach(draft(comune), EDITOR, content=big, filename="ordinanza.pdf")
    assert refused.value.code == "file_too_large"
    assert "2 KB" in refused.value.message
    assert "BANDITORE_ATTACHMENT_MAX_BYTES" in refused.value.message


@override_settings(BANDITORE_ATTACHMENT_MAX_BYTES=200 * 2**20)
def test_the_cap_never_lifts_metas_own_limits():
    assert attachments.largest() == 100 * 2**20
    with pytest.raises(Refused) as refused:
        attachments.check(PDF, 100 * 2**20 + 1)
    assert "100 MB" in refused.value.message


def test_sizes_read_as_an_italian_writes_them():
    assert attachments.size_text(5 * 2**20) == "5 MB"
    assert attachments.size_text(int(2.5 * 2**20)) == "2,5 MB"
    assert attachments.size_text(2048) == "2 KB"
    with translation.override("en"):
        assert attachments.size_text(int(2.5 * 2**20)) == "2.5 MB"
        assert attachments.size_text(300) == "300 bytes"


# -- The name a citizen sees.


@pytest.mark.parametrize(
    "given, mime, cleaned",
    [
        ("Ordinanza 12-2026.pdf", "application/pdf", "Ordinanza 12-2026.pdf"),
        ("C:\\Users\\ufficio\\Desktop\\avviso.pdf", "application/pdf", "avviso.pdf"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("fattura\u202efdp.exe", "application/pdf", "fatturafdp.exe.pdf"),  # RTL override
        ("riga\nnuova\t.pdf", "application/pdf", "riga nuova.pdf"),
        ("  .nascosto.pdf  ", "application/pdf", "nascosto.pdf"),
        ("foto.JPEG", "image/jpeg", "foto.JPEG"),
        ("foto.png", "image/jpeg", "foto.png.jpg"),  # says what it really is
        ("", "application/pdf", "allegato.pdf"),
        ("...", "image/png", "allegato.png"),
        ("Avviso comunale.PDF", "application/pdf", "Avviso comunale.PDF"),
    ],
)
def test_the_filename_is_cleaned(given, mime, cleaned):
    assert clean_filename(given, KIND[mime]) == cleaned


def test_a_long_filename_is_cut_to_240_characters_keeping_its_extension():
    name = clean_filename("è" * 300 + ".pdf", KIND["application/pdf"])
    assert len(name) == 240 and name.endswith("è.pdf")


def test_the_cleaned_name_is_what_is_stored(comune):
    media = attachments.attach(
        draft(comune), EDITOR, content=PDF, filename="/tmp/x/Ordinanza\x00 sindaco.pdf"
    )
    assert media.filename == "Ordinanza sindaco.pdf"


# -- Only while the broadcast may change.


@pytest.mark.parametrize("status", ["submitted", "approved", "scheduled"])
def test_refused_once_it_is_waiting_for_approval_or_time(comune, status):
    b = in_state(comune, status)
    assert code_of(lambda: attachments.attach(b, EDITOR, content=PDF, filename="o.pdf")) in (
        "not_draft"
    )


@pytest.mark.parametrize("status", ["sending", "paused", "cancelled", "sent"])
def test_refused_once_it_has_started(comune, audience, status):
    b = in_state(comune, status)
    assert code_of(lambda: attachments.attach(b, EDITOR, content=PDF, filename="o.pdf")) == (
        "immutable"
    )
    assert code_of(lambda: attachments.detach(b, EDITOR)) == "immutable"


def test_a_withdrawn_broadcast_takes_an_attachment_again(comune):
    b = lifecycle.withdraw(in_state(comune, "approved"), EDITOR)
    assert attachments.attach(b, EDITOR, content=PDF, filename="o.pdf").size == len(PDF)


# -- Replacing, removing, the audit log.


def test_a_new_file_replaces_the_old_and_both_are_in_the_audit_log(comune):
    b = draft(comune)
    attachments.attach(b, EDITOR, content=PDF, filename="prima.pdf")
    BroadcastMedia.objects.update(provider_id="111", uploaded_at="2026-01-01T00:00:00Z")
    attachments.attach(b, EDITOR, content=JPEG, filename="dopo.jpg")
    media = BroadcastMedia.objects.get()
    assert (media.filename, media.mime_type) == ("dopo.jpg", "image/jpeg")
    assert media.provider_id == "" and media.uploaded_at is None  # the old upload is not it
    events = AuditEvent.objects.filter(action="broadcast.attached").order_by("id")
    assert [e.data["filename"] for e in events] == ["prima.pdf", "dopo.jpg"]
    last = events.last()
    assert last.actor_label == EDITOR.label and last.target == f"broadcast:{b.pk}"
    assert last.data["mime_type"] == "image/jpeg" and last.data["size"] == len(JPEG)
    assert last.data["sha256"] == media.sha256 and len(media.sha256) == 64
    assert last.data["replaced"] is True


def test_the_same_bytes_under_another_name_keep_their_upload(comune):
    b = draft(comune)
    attachments.attach(b, EDITOR, content=PDF, filename="prima.pdf")
    BroadcastMedia.objects.update(provider_id="111", uploaded_at="2026-01-01T00:00:00Z")
    attachments.attach(b, EDITOR, content=PDF, filename="nuovo nome.pdf")
    media = BroadcastMedia.objects.get()
    assert media.filename == "nuovo nome.pdf" and media.provider_id == "111"


def test_detach_removes_it_and_says_whether_there_was_one(comune):
    b = draft(comune)
    assert attachments.detach(b, EDITOR) is False
    attachments.attach(b, EDITOR, content=PDF, filename="o.pdf")
    assert attachments.detach(b, EDITOR) is True
    assert not BroadcastMedia.objects.exists()
    event = AuditEvent.objects.get(action="broadcast.detached")
    assert event.data["filename"] == "o.pdf"


def test_describe_tells_name_type_and_size(comune):
    b = draft(comune)
    assert attachments.describe(b) is None
    attachments.attach(b, EDITOR, content=PDF, filename="o.pdf")
    assert attachments.describe(b) == {
        "filename": "o.pdf",
        "mime_type": "application/pdf",
        "size": len(PDF),
    }


def test_ensure_uploaded_without_an_attachment_is_none(comune):
    assert attachments.ensure_uploaded(draft(comune)) is None


# -- The CLI.


def run(*args) -> str:
    out = io.StringIO()
    call_command("broadcast", *args, stdout=out)
    return out.getvalue()


def test_cli_attach_and_detach(comune, tmp_path):
    b = draft(comune)
    path = tmp_path / "Ordinanza viabilità.pdf"
    path.write_bytes(PDF)
    out = run("attach", str(b.pk), str(path))
    assert "Ordinanza viabilità.pdf" in out and "application/pdf" in out
    assert BroadcastMedia.objects.get().filename == "Ordinanza viabilità.pdf"
    assert AuditEvent.objects.get(action="broadcast.attached").actor_label == "cli"
    assert "rimosso" in run("detach", str(b.pk))
    assert "nessun allegato" in run("detach", str(b.pk))


def test_cli_refuses_a_bad_file_or_path_in_italian(comune, tmp_path):
    b = draft(comune)
    path = tmp_path / "virus.pdf"
    path.write_bytes(EXE)
    with pytest.raises(CommandError, match="JPEG"):
        run("attach", str(b.pk), str(path))
    with pytest.raises(CommandError, match=str(tmp_path / "manca.pdf")):
        run("attach", str(b.pk), str(tmp_path / "manca.pdf"))
    assert not BroadcastMedia.objects.exists()


@override_settings(BANDITORE_ATTACHMENT_MAX_BYTES=1024)
def test_cli_refuses_an_oversize_file(comune, tmp_path):
    path = tmp_path / "grande.pdf"
    path.write_bytes(PDF + b"\x00" * 4096)
    with pytest.raises(CommandError, match="1 KB"):
        run("attach", str(draft(comune).pk), str(path))
