"""sendPhoto and sendDocument: multipart uploads, URLs and file_ids, captions."""

from __future__ import annotations

import struct
import zlib

import aiohttp

from .harness import CITIZEN, run, running_telegram


def png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def upload(field: str, data: bytes, filename: str, content_type: str, **params: str):
    form = aiohttp.FormData()
    for key, value in params.items():
        form.add_field(key, value)
    form.add_field(field, data, filename=filename, content_type=content_type)
    return form


@run
async def test_a_photo_uploaded_as_multipart_is_sent_with_its_sizes() -> None:
    async with running_telegram() as tg:
        await tg.start()
        form = upload(
            "photo",
            png(640, 480),
            "allerta.png",
            "image/png",
            chat_id=str(CITIZEN),
            caption="<b>Allerta</b> meteo",
            parse_mode="HTML",
        )
        answer = await tg.call_form("sendPhoto", form)
        assert answer.status == 200, answer.json
        message = answer.json["result"]
        assert message["photo"][-1]["width"] == 640 and message["photo"][-1]["height"] == 480
        assert message["photo"][0]["width"] == 90
        assert message["caption"] == "Allerta meteo"
        assert message["caption_entities"] == [{"offset": 0, "length": 7, "type": "bold"}]
        received = await tg.received()
        assert received[0]["type"] == "photo" and received[0]["file_name"] == "allerta.png"
        # The file_id Telegram gave back sends the same photo again without an upload.
        again = await tg.call("sendPhoto", chat_id=CITIZEN, photo=message["photo"][-1]["file_id"])
        assert again.status == 200, again.json
        assert again.json["result"]["photo"][-1]["width"] == 640


@run
async def test_an_upload_that_is_not_an_image_is_refused_as_a_photo() -> None:
    async with running_telegram() as tg:
        await tg.start()
        form = upload("photo", b"%PDF-1.4 not an image", "x.png", "image/png", chat_id=str(CITIZEN))
        answer = await tg.call_form("sendPhoto", form)
        assert (answer.status, answer.json["description"]) == (
            400,
            "Bad Request: IMAGE_PROCESS_FAILED",
        )


@run
async def test_a_document_by_upload_and_by_url() -> None:
    async with running_telegram() as tg:
        await tg.start()
        form = upload(
            "document",
            b"%PDF-1.4 ordinanza",
            "ordinanza.pdf",
            "application/pdf",
            chat_id=str(CITIZEN),
        )
        answer = await tg.call_form("sendDocument", form)
        assert answer.status == 200, answer.json
        document = answer.json["result"]["document"]
        assert document["file_name"] == "ordinanza.pdf"
        assert document["mime_type"] == "application/pdf" and document["file_size"] == 18
        url = "https://comune.example/albo/delibera-12.pdf"
        by_url = await tg.call("sendDocument", chat_id=CITIZEN, document=url)
        assert by_url.json["result"]["document"]["file_name"] == "delibera-12.pdf"
        assert [m.get("url") for m in await tg.received()] == [None, url]
        # A document's file_id is not a photo's.
        wrong = await tg.call("sendPhoto", chat_id=CITIZEN, photo=document["file_id"])
        assert wrong.json["description"] == "Bad Request: can't use file of type Document as Photo"


@run
async def test_missing_files_unknown_ids_and_long_captions_are_refused() -> None:
    async with running_telegram() as tg:
        await tg.start()
        none = await tg.call("sendPhoto", chat_id=CITIZEN)
        assert none.json["description"] == "Bad Request: there is no photo in the request"
        unknown = await tg.call("sendDocument", chat_id=CITIZEN, document="BQACAgnope")
        assert unknown.json["description"] == (
            "Bad Request: wrong file identifier/HTTP URL specified"
        )
        long = await tg.call(
            "sendPhoto", chat_id=CITIZEN, photo="https://comune.example/a.jpg", caption="a" * 1025
        )
        assert (long.status, long.json["description"]) == (
            400,
            "Bad Request: message caption is too long",
        )
        assert await tg.received() == []
