"""Telegram behind the channel contract: a delivery rendered as a Bot API send, sent.

A bot may write to anyone who started it, at any time, for free: no templates, no 24-hour
window. So a broadcast goes as its own text with the opt-out line, serialised once per
broadcast with only the chat left to fill in; one with an image or a PDF goes as that file
with the text as its caption (media.py); a reply or a notice is its text. Plain text, no
parse_mode: a citizen's or an editor's "<" or "_" can never make Telegram refuse it.
"""

import json

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from banditore.broadcasts.media import BroadcastMedia
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.base import Outgoing, SendResult, Transport
from banditore.channels.telegram.client import TelegramClient
from banditore.channels.telegram.config import TelegramConfig
from banditore.channels.telegram.media import Attachment, File, problem

# What WhatsApp's template says at its end, for the citizen who wants out. The word to
# write is the same in every language, as on the posters (subscribers/replies.py).
FOOTER = gettext_noop("To stop receiving messages write CANCELLAMI.")
# Telegram refuses a text over 4,096 characters; replies are ours and short, this only
# keeps a freak one from failing (and a failure here pauses the channel).
REPLY_MAX = 4000


def footer() -> str:
    # In the installation's language, as the replies are (webhooks/processing.py), whatever
    # language the calling thread last served: a citizen reads Italian unless the comune
    # runs Banditore in English.
    with translation.override(settings.LANGUAGE_CODE):
        return "\n\n" + gettext(FOOTER)


def broadcast_text(text: str) -> str:
    return text + footer()


class PreparedBody:
    """A send's JSON with only the chat left to fill in."""

    def __init__(self, payload: dict):
        rest = {k: v for k, v in payload.items() if k != "chat_id"}
        self.prefix = json.dumps(rest, separators=(",", ":"), ensure_ascii=False)[:-1]

    def render(self, chat_id: str) -> bytes:
        return f'{self.prefix},"chat_id":{json.dumps(chat_id)}}}'.encode()


class Unrenderable:
    def __init__(self, problem: str):
        self.problem = problem

    def render(self, chat_id: str) -> bytes:
        raise ValueError(self.problem)


def message_payload(chat_id: str, text: str, *, preview: bool) -> dict:
    # Telegram's servers fetch a link to draw its preview: never for our replies, whose
    # links (a signed data export) are for the citizen alone.
    return {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": not preview}}


class WithFile:
    """A broadcast with an attachment: the file's state, and the text as a message of its
    own when it is too long to be the file's caption."""

    def __init__(self, attachment: Attachment):
        self.attachment = attachment
        self.follow = None
        if attachment.caption is None:
            self.follow = PreparedBody(message_payload("", attachment.text, preview=True))

    def render(self, chat_id: str) -> dict:
        return self.attachment.render(chat_id)


class TelegramTransport(Transport):
    def __init__(self, channel, session, timeout: float):
        super().__init__(channel, session, timeout)
        self.config = TelegramConfig.model_validate(channel.config)
        self.client = TelegramClient(session, self.config, timeout)
        self.bodies: dict[int, PreparedBody | WithFile | Unrenderable] = {}

    def prepare(self, broadcast_ids) -> None:
        wanted = [i for i in broadcast_ids if i not in self.bodies]
        if not wanted:
            return
        texts = dict(Broadcast.objects.filter(id__in=wanted).values_list("id", "text"))
        files = {
            row["broadcast_id"]: File(bytes(row["content"]), row["mime_type"], row["filename"])
            for row in BroadcastMedia.objects.filter(broadcast_id__in=wanted).values(
                "broadcast_id", "content", "mime_type", "filename"
            )
        }
        for broadcast_id in wanted:
            if broadcast_id not in texts:
                # Rendering raises, so each send records why and the channel pauses.
                self.bodies[broadcast_id] = Unrenderable(f"broadcast {broadcast_id} is gone")
                continue
            text = broadcast_text(texts[broadcast_id])
            file = files.get(broadcast_id)
            if file is None:
                self.bodies[broadcast_id] = PreparedBody(message_payload("", text, preview=True))
            elif (refusal := problem(file)) is not None:
                self.bodies[broadcast_id] = Unrenderable(f"broadcast {broadcast_id}: {refusal}")
            else:
                self.bodies[broadcast_id] = WithFile(Attachment.of(file, text))

    def render(self, d: Outgoing) -> bytes | dict:
        if _shows_broadcast(d):
            return self.bodies[d.broadcast_id].render(d.recipient)
        return message_payload(d.recipient, d.text[:REPLY_MAX], preview=False)

    async def send(self, d: Outgoing, payload) -> SendResult:
        body = self.bodies.get(d.broadcast_id) if _shows_broadcast(d) else None
        if isinstance(body, WithFile):
            follow = body.follow.render(d.recipient) if body.follow is not None else None
            return await body.attachment.send(self.client, d.id, d.recipient, follow)
        return await self.client.send(payload)


def _shows_broadcast(d: Outgoing) -> bool:
    # A reply never shows a broadcast, even one that names it.
    return bool(d.broadcast_id) and d.kind != Delivery.Kind.REPLY
