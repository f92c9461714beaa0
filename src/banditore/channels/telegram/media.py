"""A broadcast's image or PDF on Telegram: an image as sendPhoto, a PDF as sendDocument,
the text with its opt-out line as the caption.

Telegram wants a file uploaded once and then named by the file_id it answers with: the
first send to a citizen carries the bytes (multipart) and every other chat gets the file_id
(JSON, a few hundred bytes). A file_id belongs to the bot that uploaded it, and this state
lives in the transport of one leased channel, so one bot: nothing here is shared with another
channel. Sends that arrive while the upload is under way wait for its file_id rather than
upload the same file again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from banditore.channels.base import Action, SendResult
from banditore.channels.telegram.client import FilePart, Sent, TelegramClient

# Bot API: a caption is at most 1,024 characters. Measured in UTF-16 code units, where an
# emoji counts two: Telegram's entity offsets are in them, and whether its limits are too is
# not documented; counted so, a caption Telegram would refuse for every citizen never goes.
CAPTION_MAX = 1024
# Bot API: a bot uploads files of at most 50 MB (photos 10 MB); a larger one is refused for
# every citizen alike, so it is refused here before a byte is sent.
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024
PHOTO_MAX_BYTES = 10 * 1024 * 1024
# A file of megabytes over a slow uplink needs longer than a text's send timeout.
UPLOAD_TIMEOUT = 90.0
# A text too long for a caption goes after its file, as a second message to the same chat:
# this long after it, the kind's least time between two messages to one chat (kind.py's
# recipient_interval), so that Telegram's one-a-second per chat doesn't refuse it.
FOLLOW_AFTER = 1.1

PHOTO_TYPES = ("image/jpeg", "image/png")
# Telegram's refusals of an image as a photo (it can't read it, or it is too tall, too wide
# or too large to show): the same file still goes, as a document, which Telegram never
# resizes. Lowercase fragments of its descriptions.
PHOTO_REFUSALS = (
    "image_process_failed",
    "photo_invalid_dimensions",
    "photo_save_file_invalid",
    "photo_ext_invalid",
    "file is too big",
)
# A file_id Telegram no longer knows (or never gave this bot): the file goes up again.
STALE_FILE = ("wrong file identifier", "wrong remote file identifier", "file reference")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class File:
    content: bytes
    mime_type: str
    filename: str


def problem(file: File) -> str | None:
    """Why no citizen could get this file on Telegram, or None."""
    if len(file.content) > DOCUMENT_MAX_BYTES:
        return (
            f"the attachment is {len(file.content)} bytes: "
            f"Telegram takes files of at most {DOCUMENT_MAX_BYTES} bytes from a bot"
        )
    return None


@dataclass
class Attachment:
    """One broadcast's file and text, and the file_id once Telegram has given it."""

    file: File
    text: str  # the broadcast's text with the opt-out line
    kind: str = "photo"  # the Bot API's parameter: "photo" or "document"
    file_id: str | None = None
    # The text as the file's caption, or None when it is too long to be one.
    caption: str | None = field(init=False)
    # Deliveries whose file went but whose text (too long for a caption) did not: a retry
    # of one of them sends the text alone, not the file a second time.
    file_sent: set[int] = field(default_factory=set)
    _lock: asyncio.Lock | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, file: File, text: str) -> Attachment:
        small = len(file.content) <= PHOTO_MAX_BYTES
        kind = "photo" if file.mime_type in PHOTO_TYPES and small else "document"
        return cls(file, text, kind)

    def __post_init__(self) -> None:
        self.caption = self.text if utf16_length(self.text) <= CAPTION_MAX else None

    @property
    def method(self) -> str:
        return "sendPhoto" if self.kind == "photo" else "sendDocument"

    def fields(self, chat_id: str) -> dict:
        caption = self.caption
        return {"chat_id": chat_id, **({"caption": caption} if caption is not None else {})}

    def render(self, chat_id: str) -> dict:
        # What the send will post but the file itself, which is known only at send time
        # (an upload may be under way).
        return {**self.fields(chat_id), self.kind: self.file_id}

    async def send(
        self, client: TelegramClient, delivery_id: int, chat_id: str, follow: dict | None
    ) -> SendResult:
        """The file with its caption; or, for a text too long for one, the file and then the
        text (`follow`, a sendMessage), the delivery's id being the text's."""
        if follow is not None and delivery_id in self.file_sent:
            return await self._follow(client, delivery_id, follow)
        result = await self._send_file(client, chat_id)
        if result.error is not None or follow is None:
            return result
        self.file_sent.add(delivery_id)
        await asyncio.sleep(FOLLOW_AFTER)
        return await self._follow(client, delivery_id, follow)

    async def _follow(self, client: TelegramClient, delivery_id: int, follow: dict) -> SendResult:
        result = await client.send(follow)
        if result.error is None or result.error.verdict.action != Action.RETRY:
            self.file_sent.discard(delivery_id)  # never tried again
        return result

    async def _send_file(self, client: TelegramClient, chat_id: str) -> SendResult:
        file_id = self.file_id
        if file_id is not None:
            sent = await client.call(self.method, {**self.fields(chat_id), self.kind: file_id})
            if not _refused(sent, STALE_FILE):
                return sent.result
            if self.file_id == file_id:
                self.file_id = None
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            file_id = self.file_id
            if file_id is None:
                sent = await self._upload(client, chat_id)
                if self.kind == "photo" and _refused(sent, PHOTO_REFUSALS):
                    self.kind = "document"
                    sent = await self._upload(client, chat_id)
                if sent.message is not None:
                    self.file_id = file_id_of(sent.message, self.kind)
                return sent.result
        # Uploaded by another send while this one waited: the sends that waited go together.
        fields = {**self.fields(chat_id), self.kind: file_id}
        return (await client.call(self.method, fields)).result

    async def _upload(self, client: TelegramClient, chat_id: str) -> Sent:
        f = self.file
        part = FilePart(self.kind, f.content, f.filename, f.mime_type)
        timeout = max(UPLOAD_TIMEOUT, client.timeout.total or 0)
        return await client.upload(self.method, self.fields(chat_id), part, timeout)


def _refused(sent: Sent, fragments: tuple[str, ...]) -> bool:
    error = sent.result.error
    title = error.title.lower() if error is not None else ""
    return any(fragment in title for fragment in fragments)


def file_id_of(message: dict, kind: str) -> str | None:
    """The file_id to send the same file with again: a photo's largest size (Telegram lists
    them smallest first), a document's own."""
    try:
        if kind == "photo":
            file_id = message["photo"][-1]["file_id"]
        else:
            file_id = message["document"]["file_id"]
    except (KeyError, IndexError, TypeError):
        return None
    return file_id if isinstance(file_id, str) and file_id else None
