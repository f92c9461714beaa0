"""Uploaded media: stored in memory per phone number, with Meta's expiries (reference §7)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from banditore.sandbox.ids import new_numeric_id

MEDIA_TTL_SECONDS = 30 * 24 * 3600  # uploaded media persists 30 days
URL_TTL_SECONDS = 5 * 60  # a retrieved download URL works for 5 minutes

# Supported types and size limits (reference §7.4).
SIZE_LIMITS: dict[str, int] = {
    "audio/aac": 16 << 20,
    "audio/amr": 16 << 20,
    "audio/mpeg": 16 << 20,
    "audio/mp4": 16 << 20,
    "audio/ogg": 16 << 20,
    "text/plain": 100 << 20,
    "application/pdf": 100 << 20,
    "application/msword": 100 << 20,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 << 20,
    "application/vnd.ms-excel": 100 << 20,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 << 20,
    "application/vnd.ms-powerpoint": 100 << 20,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 << 20,
    "image/jpeg": 5 << 20,
    "image/png": 5 << 20,
    "image/webp": 500 << 10,
    "video/mp4": 16 << 20,
    "video/3gpp": 16 << 20,
}


@dataclass(slots=True)
class MediaItem:
    id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    sha256: str
    uploaded_at: float
    # The signed part of the current download URL and when it stops working.
    url_key: str = ""
    url_expires_at: float = 0.0


class MediaStore:
    def __init__(self) -> None:
        self._items: dict[str, MediaItem] = {}

    def add(self, phone_number_id: str, mime_type: str, data: bytes) -> MediaItem:
        item = MediaItem(
            id=new_numeric_id(9),
            phone_number_id=phone_number_id,
            mime_type=mime_type,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_at=time.time(),
        )
        self._items[item.id] = item
        return item

    def get(self, media_id: str) -> MediaItem | None:
        item = self._items.get(media_id)
        if item is not None and time.time() - item.uploaded_at > MEDIA_TTL_SECONDS:
            del self._items[media_id]
            return None
        return item

    def exists_for(self, phone_number_id: str, media_id: str) -> bool:
        # Ids are usable only from the phone number that uploaded them (reference §7.1).
        item = self.get(media_id)
        return item is not None and item.phone_number_id == phone_number_id

    def delete(self, media_id: str) -> bool:
        return self._items.pop(media_id, None) is not None

    def new_url_key(self, item: MediaItem) -> str:
        item.url_key = secrets.token_urlsafe(16)
        item.url_expires_at = time.time() + URL_TTL_SECONDS
        return item.url_key

    def by_url_key(self, media_id: str, key: str) -> MediaItem | None:
        item = self.get(media_id)
        if item is None or not key or key != item.url_key or time.time() > item.url_expires_at:
            return None
        return item

    def clear(self) -> None:
        self._items.clear()
