"""Uploading a broadcast's image or PDF to the Cloud API (`POST /{phone-number-id}/media`,
multipart, reference §7.1): once per broadcast, and every recipient's message names the id.

Synchronous, on the standard library's urllib rather than aiohttp: the callers (the
lifecycle inside a Django request, the CLI, the worker's scheduler tick) are plain threads
with no event loop of their own, and `asyncio.run` would fail in any thread that already
runs one. It is one request per broadcast, so aiohttp's pooling would buy nothing.
"""

import json
import secrets
import urllib.error
import urllib.request

from banditore.channels.whatsapp.config import WhatsAppConfig
from banditore.channels.whatsapp.errors import (
    HTTP_ERROR,
    NETWORK_ERROR,
    GraphError,
    parse_graph_error,
)

# Long enough for a 16 MB PDF over a slow uplink (about 2 Mbit/s), short enough that a
# stuck connection does not hold the operator's request or the scheduler's tick for long.
UPLOAD_TIMEOUT = 90.0
# Meta's media ids are numeric strings of 15-17 digits; anything far longer is not one.
MEDIA_ID_MAX = 128

# Straight to the provider, as the dispatcher's aiohttp session goes (it ignores the
# environment's proxy settings too): the upload and the sends must reach the same place.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MediaUploadError(Exception):
    """The provider refused the upload, or could not be reached; `error` says which."""

    def __init__(self, error: GraphError):
        super().__init__(f"({error.code}) {error.title}")
        self.error = error

    @property
    def code(self) -> int:
        return self.error.code

    @property
    def title(self) -> str:
        return self.error.title


def media_url(config: WhatsAppConfig) -> str:
    return f"{config.base_url.rstrip('/')}/{config.api_version}/{config.phone_number_id}/media"


def _quoted(value: str) -> str:
    # A header parameter in quotes: the cleaned filename has no line breaks, but a quote or
    # a backslash in it must not end the parameter early.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


def _multipart(boundary: str, mime_type: str, filename: str, content: bytes) -> bytes:
    lines = []
    for name, value in (("messaging_product", "whatsapp"), ("type", mime_type)):
        lines.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{_quoted(filename)}"\r\n'
        f"Content-Type: {mime_type}\r\n\r\n"
    )
    return "".join(lines).encode() + head.encode() + content + f"\r\n--{boundary}--\r\n".encode()


def upload(
    config: WhatsAppConfig,
    content: bytes,
    mime_type: str,
    filename: str,
    *,
    timeout: float = UPLOAD_TIMEOUT,
) -> str:
    """Upload the file; the provider's media id. Raises MediaUploadError, never anything
    else for provider or network trouble."""
    boundary = f"banditore-{secrets.token_hex(16)}"
    request = urllib.request.Request(
        media_url(config),
        data=_multipart(boundary, mime_type, filename, content),
        method="POST",
        headers={
            "Authorization": f"Bearer {config.access_token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as answered:
        status, body = answered.code, answered.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MediaUploadError(
            GraphError(NETWORK_ERROR, f"{type(exc).__name__}: {reason}")
        ) from exc
    if status != 200:
        raise MediaUploadError(parse_graph_error(status, body))
    try:
        media_id = json.loads(body)["id"]
    except (ValueError, KeyError, TypeError):
        media_id = None
    if isinstance(media_id, int):
        media_id = str(media_id)
    if not isinstance(media_id, str) or not 0 < len(media_id) <= MEDIA_ID_MAX:
        snippet = body[:200].decode("utf-8", "replace")
        raise MediaUploadError(
            GraphError(HTTP_ERROR, f"unreadable 200 body: {snippet}", http_status=status)
        )
    return media_id
