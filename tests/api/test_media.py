"""/api/broadcasts/{id}/media: a multipart upload attaches an image or a PDF to a draft, a
bad file is a 4xx in both languages (never a 500), DELETE removes it, and the broadcast's
JSON says what is attached."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from banditore.broadcasts.media import BroadcastMedia
from banditore.core.models import AuditEvent
from tests.broadcasts.test_attachments import EXE, GIF, JPEG, PDF


def created(api) -> int:
    return api.post("/api/broadcasts", {"text": "Strada chiusa"}).json()["id"]


def upload(api, broadcast_id, content, name="ordinanza.pdf", content_type="application/pdf", **kw):
    # Django's test client encodes a dict with a file as multipart/form-data.
    data = {"file": SimpleUploadedFile(name, content, content_type=content_type)}
    return api.client.post(
        f"/api/broadcasts/{broadcast_id}/media", data, headers={**api.headers, **kw}
    )


def test_an_upload_attaches_and_the_broadcast_says_so(comune, api):
    b = created(api)
    assert api.get(f"/api/broadcasts/{b}").json()["media"] is None
    response = upload(api, b, PDF, name="Ordinanza n. 12.pdf")
    assert response.status_code == 200, response.content
    media = {"filename": "Ordinanza n. 12.pdf", "mime_type": "application/pdf", "size": len(PDF)}
    assert response.json()["media"] == media
    assert api.get(f"/api/broadcasts/{b}").json()["media"] == media
    assert api.get("/api/broadcasts").json()[0]["media"] == media
    assert bytes(BroadcastMedia.objects.get().content) == PDF
    event = AuditEvent.objects.get(action="broadcast.attached")
    assert event.actor_label == "api:protezione-civile"


def test_the_type_comes_from_the_bytes_not_from_the_client(comune, api):
    b = created(api)
    response = upload(api, b, JPEG, name="foto.pdf", content_type="application/pdf")
    assert response.json()["media"]["mime_type"] == "image/jpeg"
    assert response.json()["media"]["filename"] == "foto.pdf.jpg"


def test_a_bad_file_is_422_in_both_languages(comune, api):
    b = created(api)
    for content, name in ((EXE, "ordinanza.pdf"), (GIF, "a.gif"), (b"", "vuoto.pdf")):
        response = upload(api, b, content, name=name)
        assert response.status_code == 422, response.content
        error = response.json()["error"]
        assert error["code"] in ("unsupported_file", "empty_file")
        assert error["message"] != error["message_en"]
    assert not BroadcastMedia.objects.exists()


@override_settings(BANDITORE_ATTACHMENT_MAX_BYTES=1024)
def test_an_oversize_file_is_413_naming_the_limit(comune, api):
    response = upload(api, created(api), PDF + b"\x00" * 2048)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "file_too_large"
    assert "1 KB" in error["message"] and "1 KB" in error["message_en"]
    assert "al massimo" in error["message"] and "at most" in error["message_en"]


def test_no_file_is_422(comune, api):
    b = created(api)
    response = api.client.post(f"/api/broadcasts/{b}/media", {}, headers=api.headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"
    response = api.post(f"/api/broadcasts/{b}/media", {"file": "x"})  # JSON, not a form
    assert response.status_code == 422


def test_refused_once_it_is_no_longer_a_draft(comune, api):
    b = created(api)
    api.post(f"/api/broadcasts/{b}/submit")
    response = upload(api, b, PDF)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_draft" and error["message"] != error["message_en"]
    assert api.client.delete(f"/api/broadcasts/{b}/media", headers=api.headers).status_code == 409


def test_delete_removes_it_and_is_harmless_twice(comune, api):
    b = created(api)
    upload(api, b, PDF)
    for _ in range(2):
        response = api.client.delete(f"/api/broadcasts/{b}/media", headers=api.headers)
        assert response.status_code == 200 and response.json()["media"] is None
    assert not BroadcastMedia.objects.exists()
    assert AuditEvent.objects.filter(action="broadcast.detached").count() == 1


def test_it_needs_the_write_scope_and_the_comunes_own_broadcast(comune, api, api_for, other_comune):
    b = created(api)
    reader = api_for(comune, ["broadcasts:read"], name="sola-lettura")
    assert upload(reader, b, PDF).status_code == 403
    assert api.client.delete(f"/api/broadcasts/{b}/media", headers=reader.headers).status_code == (
        403
    )
    assert upload(api_for(other_comune, name="sacile"), b, PDF).status_code == 404
    assert upload(type(api)(None), b, PDF).status_code == 401
    assert not BroadcastMedia.objects.exists()


def test_a_retry_with_the_same_idempotency_key_is_replayed(comune, api):
    b = created(api)
    # Each request is encoded with a new multipart boundary: the retry still matches.
    first = upload(api, b, PDF, **{"Idempotency-Key": "allegato-1"})
    again = upload(api, b, PDF, **{"Idempotency-Key": "allegato-1"})
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert AuditEvent.objects.filter(action="broadcast.attached").count() == 1
    other = upload(api, b, JPEG, name="foto.jpg", **{"Idempotency-Key": "allegato-1"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_an_image_larger_than_django_keeps_in_memory_is_accepted(comune, api):
    # Beyond DATA_UPLOAD_MAX_MEMORY_SIZE (3 MB) and FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB):
    # the file is streamed to disk and still hashed for the Idempotency-Key.
    big = JPEG + b"\x00" * (4 * 2**20)
    response = upload(api, created(api), big, name="foto.jpg", **{"Idempotency-Key": "grande"})
    assert response.status_code == 200 and response.json()["media"]["size"] == len(big)


def test_the_endpoints_are_in_the_openapi_document(comune, api):
    paths = api.get("/api/openapi.json").json()["paths"]
    media = paths["/api/broadcasts/{broadcast_id}/media"]
    assert {"post", "delete"} <= set(media)
    assert "multipart/form-data" in media["post"]["requestBody"]["content"]


@override_settings(BANDITORE_ATTACHMENT_MAX_BYTES=1024)
def test_answers_match_the_documented_schemas(comune, api):
    from openapi_schema_validator import OAS31Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    document = api.get("/api/openapi.json").json()
    registry = Registry().with_resource(
        "urn:banditore", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    pointer = "/paths/~1api~1broadcasts~1{broadcast_id}~1media"
    b = created(api)
    answers = [
        ("post", upload(api, b, PDF)),
        ("post", upload(api, b, PDF + b"\x00" * 2048)),
        ("delete", api.client.delete(f"/api/broadcasts/{b}/media", headers=api.headers)),
    ]
    assert [r.status_code for _m, r in answers] == [200, 413, 200]
    for method, response in answers:
        code = "4XX" if response.status_code >= 400 else str(response.status_code)
        ref = f"urn:banditore#{pointer}/{method}/responses/{code}/content/application~1json/schema"
        OAS31Validator({"$ref": ref}, registry=registry).validate(response.json())
