"""Media endpoints: upload (`POST /{phone-number-id}/media`, multipart) and the download URL
that `GET /{media-id}` hands out (reference §7). Retrieval and deletion by id live in
objects_api, because Graph routes every `/{id}` through one node lookup."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from banditore.sandbox.errors import GraphError, invalid_parameter, missing_parameter
from banditore.sandbox.graph_http import graph_json
from banditore.sandbox.instance import Sandbox
from banditore.sandbox.media import SIZE_LIMITS, MediaItem
from banditore.sandbox.messages_api import number_or_error


async def upload_media(request: web.Request, sandbox: Sandbox) -> web.Response:
    number = number_or_error(sandbox, request.match_info["phone_number_id"])
    if not request.content_type.startswith("multipart/"):
        raise invalid_parameter("Media must be uploaded as multipart/form-data.")
    fields: dict[str, str] = {}
    file_bytes: bytes | None = None
    file_type = ""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "file":
            file_bytes = await part.read(decode=False)
            file_type = part.headers.get("Content-Type", "")
        elif part.name:
            fields[part.name] = (await part.text()).strip()
    if fields.get("messaging_product") is None:
        raise missing_parameter("messaging_product")
    if fields["messaging_product"] != "whatsapp":
        raise invalid_parameter("Param messaging_product must be one of {WHATSAPP}.")
    if file_bytes is None:
        raise missing_parameter("file")
    mime = (fields.get("type") or file_type).split(";")[0].strip().lower()
    if not mime:
        raise missing_parameter("type")
    limit = SIZE_LIMITS.get(mime)
    if limit is None:
        raise GraphError(
            131053,
            f"Param file must be a file with one of the following types: {', '.join(SIZE_LIMITS)}. "
            f"Received file of type '{mime}'.",
        )
    if len(file_bytes) > limit:
        raise GraphError(131053, f"File of type {mime} is {len(file_bytes)} bytes; max {limit}.")
    item = sandbox.state.media.add(number.config.phone_number_id, mime, file_bytes)
    return graph_json({"id": item.id})


def media_object(request: web.Request, sandbox: Sandbox, item: MediaItem) -> dict[str, Any]:
    """`GET /{media-id}`: a fresh download URL, valid for 5 minutes."""
    key = sandbox.state.media.new_url_key(item)
    base = f"{request.scheme}://{request.host}"
    url = (
        f"{base}/whatsapp_business/attachments/?mid={item.id}"
        f"&ext={int(item.url_expires_at)}&hash={key}"
    )
    return {
        "messaging_product": "whatsapp",
        "url": url,
        "mime_type": item.mime_type,
        "sha256": item.sha256,
        "file_size": len(item.data),
        "id": item.id,
    }


async def download_media(request: web.Request, sandbox: Sandbox) -> web.Response:
    """The download URL itself: needs the token, and 404s once expired (like Meta's)."""
    item = sandbox.state.media.by_url_key(
        request.query.get("mid", ""), request.query.get("hash", "")
    )
    if item is None:
        return web.Response(status=404, text="URL expired or invalid; query the media id again.")
    return web.Response(body=item.data, content_type=item.mime_type)
