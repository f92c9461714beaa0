"""A broadcast's image or PDF through TelegramTransport to the sandbox over real HTTP, with a
recording proxy in between to see which request carried the file: uploaded once, then its
file_id for every other chat; an image as a photo, a PDF as a document; a first citizen who
can't get it, a forgotten file_id, an image Telegram can't process and a text too long for
a caption each still reach the others."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from banditore.broadcasts.media import BroadcastMedia
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.base import Action
from banditore.channels.telegram import media
from banditore.channels.telegram.errors import NETWORK_ERROR
from banditore.channels.telegram.transport import broadcast_text
from tests.broadcasts.test_attachments import JPEG, PDF, png
from tests.factories import channel_of, make_comune

from .harness import BOT, CITIZEN, outgoing, received, running_sandbox, serving, start, transport
from .test_transport import closed_port

TEXT = "Volantino della sagra: programma in allegato."
OTHERS = (424243, 424244, 424245, 424246)


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """A JPEG whose header gives its size (a baseline frame), as Telegram reads it."""
    frame = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", height, width) + b"\x03" + b"\x00" * 9
    return b"\xff\xd8" + frame + b"\xff\xd9"


@dataclass(frozen=True)
class Seen:
    method: str
    multipart: bool


@dataclass
class Proxy:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    # Requests (counted from 0) answered with a proxy's bare 502 instead of forwarded.
    fail: set[int] = field(default_factory=set)


@asynccontextmanager
async def recording(sb) -> AsyncIterator[Proxy]:
    """Forwards every Bot API request to the sandbox and notes its method and whether the
    file went with it."""
    proxy = Proxy()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        method = request.path.rsplit("/", 1)[-1]
        proxy.seen.append(Seen(method, request.content_type == "multipart/form-data"))
        if len(proxy.seen) - 1 in proxy.fail:
            return web.Response(status=502, text="<html>Bad Gateway</html>")
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        async with sb.session.post(sb.url + request.path_qs, data=body, headers=headers) as r:
            answer = await r.read()
            return web.Response(status=r.status, body=answer, content_type=r.content_type)

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/{tail:.*}", forward)
    async with serving(app) as url:
        proxy.url = url
        yield proxy


def broadcast_with(content: bytes, mime_type: str, filename: str, text: str = TEXT) -> Broadcast:
    # Committed (transactional_db), so prepare's database thread sees it, as the dispatcher's.
    comune = make_comune()
    broadcast = Broadcast.objects.create(organization=comune, channel=channel_of(comune), text=text)
    BroadcastMedia.objects.create(
        broadcast=broadcast,
        mime_type=mime_type,
        filename=filename,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    return broadcast


def delivery(broadcast: Broadcast, chat: int = CITIZEN, delivery_id: int = 1):
    d = outgoing(chat, text="", kind=Delivery.Kind.BROADCAST, broadcast_id=broadcast.pk)
    return dataclasses.replace(d, id=delivery_id)


async def sending(sb, proxy: Proxy, broadcast: Broadcast):
    t = transport(sb.session, proxy.url)
    await asyncio.to_thread(t.prepare, [broadcast.pk])

    async def send(chat: int = CITIZEN, delivery_id: int = 1):
        d = delivery(broadcast, chat, delivery_id)
        return await t.send(d, t.render(d))

    return t, send


def scenario(fn: Callable) -> None:
    asyncio.run(fn())


def test_an_image_goes_up_once_and_every_other_chat_gets_its_file_id(transactional_db) -> None:
    broadcast = broadcast_with(png(), "image/png", "sagra.png")

    async def run() -> None:
        async with running_sandbox() as sb, recording(sb) as proxy:
            for chat in (CITIZEN, *OTHERS[:2]):
                await start(sb, chat)
            _t, send = await sending(sb, proxy, broadcast)
            results = [await send(chat, i) for i, chat in enumerate((CITIZEN, *OTHERS[:2]))]
            assert [r.error for r in results] == [None, None, None]
            assert proxy.seen == [
                Seen("sendPhoto", True),
                Seen("sendPhoto", False),
                Seen("sendPhoto", False),
            ]
            got = [(await received(sb, chat))[0] for chat in (CITIZEN, *OTHERS[:2])]
            assert {m["type"] for m in got} == {"photo"}
            assert {m["caption"] for m in got} == {broadcast_text(TEXT)}
            assert len({m["file_id"] for m in got}) == 1  # the same file, named by its id
            ids = {r.provider_id for r in results}
            assert len(ids) == 3 and all(i.startswith(f"tg:{BOT.id}:") for i in ids)

    scenario(run)


def test_sends_that_start_together_wait_for_the_one_upload(transactional_db) -> None:
    broadcast = broadcast_with(jpeg(), "image/jpeg", "avviso.jpg")

    async def run() -> None:
        async with running_sandbox() as sb, recording(sb) as proxy:
            chats = (CITIZEN, *OTHERS)
            for chat in chats:
                await start(sb, chat)
            _t, send = await sending(sb, proxy, broadcast)
            results = await asyncio.gather(*(send(c, i) for i, c in enumerate(chats)))
            assert [r.error for r in results] == [None] * len(chats)
            assert [s.multipart for s in proxy.seen].count(True) == 1
            for chat in chats:
                [message] = await received(sb, chat)
                assert message["type"] == "photo"

    scenario(run)


def test_a_pdf_goes_as_a_document_under_its_own_name(transactional_db) -> None:
    name = 'Ordinanza n°12 – viabilità "centro".pdf'
    broadcast = broadcast_with(PDF, "application/pdf", name)

    async def run() -> None:
        async with running_sandbox() as sb, recording(sb) as proxy:
            await start(sb)
            await start(sb, OTHERS[0])
            _t, send = await sending(sb, proxy, broadcast)
            assert (await send()).error is None
            assert (await send(OTHERS[0], 2)).error is None
            assert proxy.seen == [Seen("sendDocument", True), Seen("sendDocument", False)]
            for chat in (CITIZEN, OTHERS[0]):
                [message] = await received(sb, chat)
                assert message["type"] == "document"
                # UTF-8 as typed; the quote, which would end the header's string, is an
                # apostrophe (client._disposition_value).
                assert message["file_name"] == "Ordinanza n°12 – viabilità 'centro'.pdf"
                assert message["caption"] == broadcast_text(TEXT)

    scenario(run)


def test_a_first_citizen_who_blocked_the_bot_does_not_keep_the_file_from_the_others(
    transactional_db,
) -> None:
    broadcast = broadcast_with(png(), "image/png", "sagra.png")

    async def run() -> None:
        async with running_sandbox() as sb, recording(sb) as proxy:
            for chat in (CITIZEN, *OTHERS[:2]):
                await start(sb, chat)
            await sb.control("POST", "telegram/block", {"user": CITIZEN})
            _t, send = await sending(sb, proxy, broadcast)
            blocked = await send(CITIZEN, 1)
            assert blocked.error.verdict.action == Action.OPTED_OUT
            assert (await send(OTHERS[0], 2)).error is None
            assert (await send(OTHERS[1], 3)).error is None
            # The refused upload gave no file_id: the next send carried the file.
            assert [s.multipart for s in proxy.seen] == [True, True, False]
            assert await received(sb, CITIZEN) == []

    scenario(run)


def test_a_file_id_telegram_no_longer_knows_is_uploaded_again(transactional_db) -> None:
    broadcast = broadcast_with(png(), "image/png", "sagra.png")

    async def run() -> None:
        async with running_sandbox() as sb, recording(sb) as proxy:
            await start(sb)
            _t, send = await sending(sb, proxy, broadcast)
            assert (await send()).error is None
            await sb.control("POST", "telegram/reset")  # the sandbox forgets every file
            await start(sb, OTHERS[0])
            result = await send(OTHERS[0], 2)
            assert result.error is None
            assert [s.multipart for s in proxy.seen] == [True, False, True]
            [message] = await received(sb, OTHERS[0])
            assert message["type"] == "photo"

    scenario(run)


def test_an_image_telegram_cannot_process_goes_as_a_document(transactional_db) -> None:
    # JPEG's first bytes but no frame header: Banditore's check takes it, Telegram can't.
    broadcast = broadcast_with(JPEG, "image/jpeg", "scansione.jpg")

    async def run() -> None:
        async with running_sandbox() as sb, recording(sb) as proxy:
            await start(sb)
            await start(sb, OTHERS[0])
            _t, send = await sending(sb, proxy, broadcast)
            assert (await send()).error is None
            assert (await send(OTHERS[0], 2)).error is None
            assert proxy.seen == [
                Seen("sendPhoto", True),
                Seen("sendDocument", True),
                Seen("sendDocument", False),
            ]
            for chat in (CITIZEN, OTHERS[0]):
                [message] = await received(sb, chat)
                assert (message["type"], message["file_name"]) == ("document", "scansione.jpg")
                assert message["caption"] == broadcast_text(TEXT)

    scenario(run)


def test_a_text_too_long_for_a_caption_follows_the_image(transactional_db) -> None:
    text = "Programma della sagra. " * 44  # 1,012 characters, the opt-out line after them
    broadcast = broadcast_with(png(), "image/png", "sagra.png", text=text)

    async def run() -> None:
        # The sandbox's limits are on: one message a second per chat.
        async with running_sandbox() as sb, recording(sb) as proxy:
            await start(sb)
            _t, send = await sending(sb, proxy, broadcast)
            result = await send()
            assert result.error is None
            photo, message = await received(sb)
            assert (photo["type"], photo["caption"]) == ("photo", "")
            assert (message["type"], message["text"]) == ("text", broadcast_text(text))
            # The delivery is the text, the part that says what the image is.
            assert result.provider_id == f"tg:{BOT.id}:{CITIZEN}:{message['message_id']}"
            assert [s.method for s in proxy.seen] == ["sendPhoto", "sendMessage"]

    scenario(run)


def test_a_text_that_fails_after_its_image_went_is_retried_without_the_image(
    transactional_db,
) -> None:
    text = "Programma della sagra. " * 44
    broadcast = broadcast_with(png(), "image/png", "sagra.png", text=text)

    async def run() -> None:
        async with running_sandbox() as sb, recording(sb) as proxy:
            await start(sb)
            _t, send = await sending(sb, proxy, broadcast)
            proxy.fail = {1}  # the text's request
            first = await send()
            assert first.error.code == 502 and first.error.verdict.action == Action.RETRY
            again = await send()  # the same delivery, retried
            assert again.error is None
            assert [m["type"] for m in await received(sb)] == ["photo", "text"]
            assert [s.method for s in proxy.seen] == ["sendPhoto", "sendMessage", "sendMessage"]

    scenario(run)


def test_a_caption_is_measured_as_telegram_counts_emoji() -> None:
    footer = len(broadcast_text(""))
    room = media.CAPTION_MAX - footer
    file = media.File(png(), "image/png", "x.png")
    fits = media.Attachment.of(file, broadcast_text("🚧" * (room // 2)))
    over = media.Attachment.of(file, broadcast_text("🚧" * (room // 2 + 1)))
    assert fits.caption is not None
    # Fewer than 1,024 code points, more than 1,024 UTF-16 units.
    assert len(over.text) < media.CAPTION_MAX and over.caption is None


def test_a_file_larger_than_telegram_takes_from_a_bot_refuses_to_render(
    transactional_db, monkeypatch
) -> None:
    monkeypatch.setattr(media, "DOCUMENT_MAX_BYTES", len(PDF) - 1)
    broadcast = broadcast_with(PDF, "application/pdf", "ordinanza.pdf")
    t = transport(None, "http://127.0.0.1:9")
    t.prepare([broadcast.pk])
    with pytest.raises(ValueError, match="at most"):
        t.render(delivery(broadcast))


def test_an_image_larger_than_a_photo_may_be_goes_as_a_document() -> None:
    big = media.File(jpeg() + b"\x00" * media.PHOTO_MAX_BYTES, "image/jpeg", "x.jpg")
    assert media.Attachment.of(big, "x").kind == "document"
    assert media.Attachment.of(media.File(jpeg(), "image/jpeg", "x.jpg"), "x").kind == "photo"


def test_an_upload_with_a_revoked_token_stops_the_channel(transactional_db) -> None:
    broadcast = broadcast_with(PDF, "application/pdf", "ordinanza.pdf")

    async def run() -> None:
        async with running_sandbox() as sb:
            await start(sb)
            t = transport(sb.session, sb.url, bot_token=f"{BOT.id}:revoked-token")
            await asyncio.to_thread(t.prepare, [broadcast.pk])
            d = delivery(broadcast)
            result = await t.send(d, t.render(d))
            assert (result.error.code, result.error.verdict.action) == (401, Action.STOP_CHANNEL)
            assert await received(sb) == []

    scenario(run)


def test_an_upload_to_a_telegram_that_is_down_is_provider_trouble(transactional_db) -> None:
    broadcast = broadcast_with(png(), "image/png", "sagra.png")

    async def run() -> None:
        async with running_sandbox() as sb:
            t = transport(sb.session, f"http://127.0.0.1:{closed_port()}")
            await asyncio.to_thread(t.prepare, [broadcast.pk])
            d = delivery(broadcast)
            result = await t.send(d, t.render(d))
            assert result.error.code == NETWORK_ERROR
            assert result.error.verdict.provider_trouble

    scenario(run)
