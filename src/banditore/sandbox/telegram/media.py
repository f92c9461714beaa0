"""What Telegram reads from an uploaded photo: its pixel size (it refuses what is not an
image). PNG, JPEG, GIF and WebP headers are enough for the formats a comune sends."""

from __future__ import annotations

import struct

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Bot API: photos up to 10 MB
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # Bot API: other files up to 50 MB
URL_PHOTO_SIZE = (1280, 720)  # a photo by URL is not fetched; this is its nominal size


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height), or None when `data` is not an image Telegram would take."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        if data[12:16] == b"VP8X":
            width = int.from_bytes(data[24:27], "little") + 1
            height = int.from_bytes(data[27:30], "little") + 1
            return width, height
        if data[12:16] == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
        return None
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def photo_sizes(stored: dict, thumbnail_id: str, thumbnail_unique_id: str) -> list[dict]:
    """Telegram answers a photo with several sizes, smallest first; here a 90 px thumbnail
    and the original."""
    width, height = stored["width"], stored["height"]
    scale = 90 / max(width, height, 1)
    thumbnail = {
        "file_id": thumbnail_id,
        "file_unique_id": thumbnail_unique_id,
        "file_size": max(1, stored["file_size"] // 50),
        "width": max(1, round(width * scale)),
        "height": max(1, round(height * scale)),
    }
    original = {
        "file_id": stored["file_id"],
        "file_unique_id": stored["file_unique_id"],
        "file_size": stored["file_size"],
        "width": width,
        "height": height,
    }
    return [thumbnail, original]
