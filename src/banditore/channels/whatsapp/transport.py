"""WhatsApp behind the channel contract: a delivery rendered as a Cloud API message, sent.

A broadcast goes out as the channel's approved template (WhatsApp accepts only templates
outside the 24-hour window), serialised once per broadcast; a reply is free text.
"""

from banditore.broadcasts.models import Delivery
from banditore.channels.base import Outgoing, SendResult, Transport
from banditore.channels.whatsapp.client import TemplateBody, WhatsAppClient, text_payload


class WhatsAppTransport(Transport):
    def __init__(self, channel, session, timeout: float):
        super().__init__(channel, session, timeout)
        self.config = channel.whatsapp
        self.client = WhatsAppClient(session, self.config, timeout=timeout)
        self.bodies: dict[int, TemplateBody] = {}
        self.texts: dict[int, str] = {}

    def template_body(self, text: str) -> TemplateBody:
        config = self.config
        params = [self.channel.organization.name, text]
        return TemplateBody(config.template_name, config.template_language, params)

    def prepare(self, broadcasts) -> None:
        for broadcast in broadcasts:
            if broadcast.pk not in self.bodies:
                self.bodies[broadcast.pk] = self.template_body(broadcast.text)
                self.texts[broadcast.pk] = broadcast.text

    def render(self, d: Outgoing) -> bytes | dict:
        callback = f"delivery:{d.id}"
        if d.kind == Delivery.Kind.REPLY:
            return text_payload(d.recipient, d.text, callback=callback)
        if d.kind == Delivery.Kind.NOTICE:
            return self.template_body(d.text).render(d.recipient, callback)
        if d.free:
            return text_payload(d.recipient, self.texts[d.broadcast_id], callback=callback)
        return self.bodies[d.broadcast_id].render(d.recipient, callback)

    async def send(self, d: Outgoing, payload) -> SendResult:
        return await self.client.send(payload)
