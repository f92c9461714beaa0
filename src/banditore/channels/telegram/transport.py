"""Telegram behind the channel contract: a delivery rendered as a sendMessage, sent.

A bot may write to anyone who started it, at any time, for free: no templates, no 24-hour
window. So a broadcast goes as its own text with the opt-out line, serialised once per
broadcast with only the chat left to fill in; a reply or a notice is its text. Plain text,
no parse_mode: a citizen's or an editor's "<" or "_" can never make Telegram refuse it.
"""

import json

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.base import Outgoing, SendResult, Transport
from banditore.channels.telegram.client import TelegramClient
from banditore.channels.telegram.config import TelegramConfig

# What WhatsApp's template says at its end, for the citizen who wants out.
FOOTER = "\n\nPer non ricevere più messaggi scrivi CANCELLAMI."
# Telegram refuses a text over 4,096 characters; replies are ours and short, this only
# keeps a freak one from failing (and a failure here pauses the channel).
REPLY_MAX = 4000


def broadcast_text(text: str) -> str:
    return text + FOOTER


class PreparedBody:
    """A sendMessage's JSON with only the chat left to fill in."""

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


class TelegramTransport(Transport):
    def __init__(self, channel, session, timeout: float):
        super().__init__(channel, session, timeout)
        self.config = TelegramConfig.model_validate(channel.config)
        self.client = TelegramClient(session, self.config, timeout)
        self.bodies: dict[int, PreparedBody | Unrenderable] = {}

    def prepare(self, broadcast_ids) -> None:
        wanted = [i for i in broadcast_ids if i not in self.bodies]
        if not wanted:
            return
        texts = dict(Broadcast.objects.filter(id__in=wanted).values_list("id", "text"))
        for broadcast_id in wanted:
            if broadcast_id in texts:
                payload = message_payload("", broadcast_text(texts[broadcast_id]), preview=True)
                self.bodies[broadcast_id] = PreparedBody(payload)
            else:
                # Rendering raises, so each send records why and the channel pauses.
                self.bodies[broadcast_id] = Unrenderable(f"broadcast {broadcast_id} is gone")

    def render(self, d: Outgoing) -> bytes | dict:
        if d.broadcast_id and d.kind != Delivery.Kind.REPLY:
            return self.bodies[d.broadcast_id].render(d.recipient)
        return message_payload(d.recipient, d.text[:REPLY_MAX], preview=False)

    async def send(self, d: Outgoing, payload) -> SendResult:
        return await self.client.send(payload)
