"""Uploading a broadcast's attachment to a real sandbox process over HTTP: the id it gives is
one the sandbox then knows; it is uploaded once, again after 29 days, once however many
workers ask at the same moment; and a refusal reaches the operator with the reason."""

import json
import threading
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from banditore.broadcasts import attachments
from banditore.broadcasts.lifecycle import Refused
from banditore.broadcasts.media import BroadcastMedia
from banditore.channels.whatsapp import media as whatsapp_media
from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.errors import NETWORK_ERROR
from banditore.core.demo import SANDBOX
from banditore.core.models import AuditEvent
from tests import processes
from tests.broadcasts.conftest import EDITOR, draft
from tests.broadcasts.test_attachments import JPEG, PDF, png
from tests.factories import make_comune


@pytest.fixture(scope="module")
def sandbox_url():
    with processes.sandbox() as url:
        yield url


def config(url: str, **changes) -> WhatsAppConfig:
    return WhatsAppConfig(**{**SANDBOX, "base_url": url, **changes})


def graph_get(url: str, media_id: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/v23.0/{media_id}", headers={"Authorization": f"Bearer {SANDBOX['access_token']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def download(url: str, media_id: str) -> bytes:
    _status, item = graph_get(url, media_id)
    request = urllib.request.Request(
        item["url"], headers={"Authorization": f"Bearer {SANDBOX['access_token']}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read()


def uploads() -> int:
    return AuditEvent.objects.filter(action="broadcast.media_uploaded").count()


# -- channels/whatsapp/media.upload


@pytest.mark.parametrize(
    "content, mime", [(JPEG, "image/jpeg"), (png(), "image/png"), (PDF, "application/pdf")]
)
def test_an_upload_gives_an_id_the_sandbox_knows(sandbox_url, content, mime):
    media_id = whatsapp_media.upload(config(sandbox_url), content, mime, "Avviso “sindaco”.pdf")
    assert media_id.isdigit()
    status, item = graph_get(sandbox_url, media_id)
    assert status == 200
    assert item["id"] == media_id and item["mime_type"] == mime
    assert int(item["file_size"]) == len(content)
    assert download(sandbox_url, media_id) == content


def test_a_bad_token_is_metas_error_with_its_code(sandbox_url):
    with pytest.raises(whatsapp_media.MediaUploadError) as failed:
        expired = config(sandbox_url, access_token="scaduto")
        whatsapp_media.upload(expired, PDF, "application/pdf", "o.pdf")
    assert failed.value.code == 190 and failed.value.title


def test_a_type_the_provider_refuses_is_131053(sandbox_url):
    with pytest.raises(whatsapp_media.MediaUploadError) as failed:
        whatsapp_media.upload(config(sandbox_url), b"GIF89a", "image/gif", "x.gif")
    assert failed.value.code == 131053 and failed.value.title.startswith("Param file")


def test_an_unreachable_provider_is_a_network_error():
    unreachable = config(f"http://127.0.0.1:{processes.free_port()}")
    with pytest.raises(whatsapp_media.MediaUploadError) as failed:
        whatsapp_media.upload(unreachable, PDF, "application/pdf", "o.pdf", timeout=2)
    assert failed.value.code == NETWORK_ERROR


# -- attachments.ensure_uploaded


@pytest.fixture
def comune_on(sandbox_url, db):
    return make_comune(base_url=sandbox_url)


def attached(org, content=PDF, name="ordinanza.pdf"):
    b = draft(org)
    attachments.attach(b, EDITOR, content=content, filename=name)
    return b


def test_uploaded_once_across_two_calls(comune_on, sandbox_url):
    b = attached(comune_on)
    first = attachments.ensure_uploaded(b)
    assert attachments.ensure_uploaded(b) == first
    assert uploads() == 1
    media = BroadcastMedia.objects.get()
    assert media.provider_id == first and media.uploaded_at is not None
    assert download(sandbox_url, first) == PDF
    event = AuditEvent.objects.get(action="broadcast.media_uploaded")
    assert event.data["media_id"] == first and event.data["account"] == SANDBOX["phone_number_id"]


def test_uploaded_again_after_29_days(comune_on):
    b = attached(comune_on)
    first = attachments.ensure_uploaded(b)
    BroadcastMedia.objects.update(uploaded_at=timezone.now() - timedelta(days=28, hours=23))
    assert attachments.ensure_uploaded(b) == first  # still good for a day
    BroadcastMedia.objects.update(uploaded_at=timezone.now() - timedelta(days=29, minutes=1))
    second = attachments.ensure_uploaded(b)
    assert second != first and uploads() == 2
    assert BroadcastMedia.objects.get().uploaded_at > timezone.now() - timedelta(minutes=1)


def test_a_replaced_file_is_uploaded_afresh(comune_on, sandbox_url):
    b = attached(comune_on)
    first = attachments.ensure_uploaded(b)
    attachments.attach(b, EDITOR, content=JPEG, filename="foto.jpg")
    second = attachments.ensure_uploaded(b)
    assert second != first
    assert graph_get(sandbox_url, second)[1]["mime_type"] == "image/jpeg"


def test_a_refused_upload_is_refused_to_the_operator_with_the_reason(sandbox_url, db):
    org = make_comune(base_url=sandbox_url)
    channel = org.channels.get()
    channel.config = {**channel.config, "access_token": "scaduto"}
    channel.save(update_fields=["config"])
    b = attached(org)
    with pytest.raises(Refused) as refused:
        attachments.ensure_uploaded(b)
    assert refused.value.code == "media_upload"
    assert "190" in refused.value.message and "Nulla è stato inviato" in refused.value.message
    media = BroadcastMedia.objects.get()
    assert media.provider_id == "" and media.uploaded_at is None  # free to try again
    channel.config = {**channel.config, "access_token": SANDBOX["access_token"]}
    channel.save(update_fields=["config"])
    assert attachments.ensure_uploaded(b).isdigit()


def test_an_unreachable_provider_is_refused_as_such(comune):
    # The comune's channel points at a port where nothing listens.
    b = attached(comune)
    with pytest.raises(Refused) as refused:
        attachments.ensure_uploaded(b)
    assert refused.value.code == "media_upload"
    assert "raggiungibile" in refused.value.message


def test_a_dead_workers_claim_is_taken_over(comune_on):
    b = attached(comune_on)
    stale = timezone.now() - timedelta(seconds=attachments.CLAIM_SECONDS + 1)
    BroadcastMedia.objects.update(provider_id="", uploaded_at=stale)  # claimed, never finished
    assert attachments.ensure_uploaded(b).isdigit() and uploads() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_upload_once(sandbox_url):
    org = make_comune(base_url=sandbox_url)
    b = attached(org, content=PDF + b"\x00" * 2_000_000)  # a while on the wire
    connection.close()
    barrier, ids, errors = threading.Barrier(4), [], []

    def worker():
        barrier.wait()
        try:
            ids.append(attachments.ensure_uploaded(b))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(ids) == 4 and len(set(ids)) == 1
    assert uploads() == 1
