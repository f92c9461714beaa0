"""Media upload, retrieval, download with expiry, deletion, and media messages (reference §7)."""

from __future__ import annotations

import time

import aiohttp

from banditore.sandbox import media as media_module

from .harness import CITIZEN, PHONE_ID, run, running_sandbox

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _form(
    data: bytes = PNG, mime: str = "image/png", product: str | None = "whatsapp"
) -> aiohttp.FormData:
    form = aiohttp.FormData()
    if product is not None:
        form.add_field("messaging_product", product)
    form.add_field("type", mime)
    form.add_field("file", data, filename="avviso.png", content_type=mime)
    return form


async def _upload(sb, **kwargs) -> str:  # type: ignore[no-untyped-def]
    reply = await sb.request("POST", f"/v23.0/{PHONE_ID}/media", data=_form(**kwargs))
    assert reply.status == 200, reply.json
    assert set(reply.json) == {"id"} and reply.json["id"].isdigit()
    return reply.json["id"]


@run
async def test_it_uploads_retrieves_downloads_and_deletes_media() -> None:
    async with running_sandbox() as sb:
        media_id = await _upload(sb)
        info = await sb.request("GET", f"/v23.0/{media_id}?phone_number_id={PHONE_ID}")
        assert info.status == 200
        assert info.json["messaging_product"] == "whatsapp"
        assert info.json["mime_type"] == "image/png"
        assert info.json["file_size"] == len(PNG)
        assert info.json["id"] == media_id
        assert len(info.json["sha256"]) == 64

        download = await sb.request("GET", info.json["url"].removeprefix(sb.url))
        assert download.status == 200
        assert download.headers["Content-Type"] == "image/png"
        without_token = await sb.request("GET", info.json["url"].removeprefix(sb.url), token=None)
        assert without_token.status == 401

        deleted = await sb.request("DELETE", f"/v23.0/{media_id}")
        assert (deleted.status, deleted.json) == (200, {"success": True})
        gone = await sb.request("GET", f"/v23.0/{media_id}")
        assert gone.status == 400 and gone.json["error"]["error_subcode"] == 33


@run
async def test_it_expires_download_urls_after_five_minutes() -> None:
    async with running_sandbox() as sb:
        media_id = await _upload(sb)
        url = (await sb.request("GET", f"/v23.0/{media_id}")).json["url"].removeprefix(sb.url)
        item = sb.sandbox.state.media.get(media_id)
        assert item is not None
        assert abs(item.url_expires_at - time.time() - media_module.URL_TTL_SECONDS) < 5
        item.url_expires_at = time.time() - 1
        assert (await sb.request("GET", url)).status == 404


@run
async def test_it_rejects_unsupported_types_and_oversized_files() -> None:
    async with running_sandbox() as sb:
        reply = await sb.request("POST", f"/v23.0/{PHONE_ID}/media", data=_form(mime="image/gif"))
        assert reply.json["error"]["code"] == 131053
        big = b"\x00" * (5 * 1024 * 1024 + 1)
        reply = await sb.request("POST", f"/v23.0/{PHONE_ID}/media", data=_form(data=big))
        assert reply.json["error"]["code"] == 131053
        reply = await sb.request("POST", f"/v23.0/{PHONE_ID}/media", data=_form(product=None))
        assert reply.json["error"]["code"] == 100


@run
async def test_it_sends_image_and_document_messages_by_id_or_link() -> None:
    async with running_sandbox() as sb:
        await sb.inbound()
        media_id = await _upload(sb)
        bodies = [
            {"type": "image", "image": {"id": media_id, "caption": "Avviso"}},
            {
                "type": "document",
                "document": {"link": "https://comune.example.it/a.pdf", "filename": "a.pdf"},
            },
        ]
        for extra in bodies:
            reply = await sb.send({"messaging_product": "whatsapp", "to": CITIZEN, **extra})
            assert reply.status == 200, reply.json
        image, document = await sb.received()
        assert image["media"] == {"id": media_id, "caption": "Avviso"}
        assert image["text"] == "Avviso"
        assert document["media"]["filename"] == "a.pdf"


@run
async def test_it_rejects_bad_media_objects() -> None:
    async with running_sandbox() as sb:
        cases = [
            ({"image": {}}, 100),
            ({"image": {"id": "1", "link": "https://x.example/a.png"}}, 100),
            ({"image": {"id": "123456"}}, 131009),
            ({"image": {"link": "ftp://x.example/a.png"}}, 131009),
            ({"audio": {"link": "https://x.example/a.ogg", "caption": "no"}}, 100),
            ({"image": {"link": "https://x.example/a.png", "filename": "a.png"}}, 100),
        ]
        for extra, code in cases:
            kind = next(iter(extra))
            body = {"messaging_product": "whatsapp", "to": CITIZEN, "type": kind, **extra}
            reply = await sb.send(body)
            assert reply.json["error"]["code"] == code, (extra, reply.json)
