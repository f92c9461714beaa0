"""WhatsApp behind the channel contract: a delivery rendered as a Cloud API message, sent.

Outside the citizen's 24-hour window a broadcast goes out as its template (WhatsApp accepts
only templates there), filled in as broadcasts/templating.py says, with its attachment in
the template's header; inside the window as free text, or as the attachment with the text as
its caption. Each broadcast's two bodies are serialised once; a reply is free text.
"""

from banditore.broadcasts import templating
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.base import Outgoing, SendResult, Transport
from banditore.channels.whatsapp.client import (
    PreparedBody,
    TemplateBody,
    WhatsAppClient,
    media_object,
    media_payload,
    text_param,
    text_payload,
)

MEDIA_KIND = {"image/jpeg": "image", "image/png": "image", "application/pdf": "document"}


class WhatsAppTransport(Transport):
    def __init__(self, channel, session, timeout: float):
        super().__init__(channel, session, timeout)
        self.config = channel.whatsapp
        self.client = WhatsAppClient(session, self.config, timeout=timeout)
        self.bodies: dict[int, PreparedBody | Unrenderable] = {}
        self.free_bodies: dict[int, PreparedBody | Unrenderable] = {}

    def default_body(self, text: str) -> TemplateBody:
        """The channel's default template with the comune's name and a text (notices)."""
        config = self.config
        params = [self.channel.organization.name, text]
        return TemplateBody(config.template_name, config.template_language, params)

    def prepare(self, broadcast_ids) -> None:
        wanted = [i for i in broadcast_ids if i not in self.bodies]
        if not wanted:
            return
        broadcasts = Broadcast.objects.filter(id__in=wanted).select_related(
            "organization", "channel", "template", "media"
        )
        for broadcast in broadcasts:
            try:
                self.bodies[broadcast.pk] = self.template_body(broadcast)
                self.free_bodies[broadcast.pk] = self.free_body(broadcast)
            except ValueError as exc:
                # Rendering raises, so each send records why and the channel pauses.
                self.bodies[broadcast.pk] = self.free_bodies[broadcast.pk] = Unrenderable(exc)

    def template_body(self, broadcast: Broadcast) -> TemplateBody:
        template = templating.template_of(broadcast)
        if template is None:
            return self.default_body(broadcast.text)
        shape = templating.shape_of(template)
        values = templating.values_for(broadcast, shape)
        named = template.parameter_format == "named"

        def param(name: str) -> dict:
            return text_param(values.get(name, ""), name if named else None)

        header = None
        if shape.header_variables:
            header = [param(n) for n in shape.header_variables]
        elif shape.header_format in templating.MEDIA_FORMATS:
            _kind, media_id, filename = _media(broadcast)
            kind = shape.header_format.lower()
            header = [{"type": kind, kind: media_object(kind, media_id, filename=filename)}]
        body = [param(n) for n in shape.body_variables]
        return TemplateBody(template.name, template.language, body, header=header)

    def free_body(self, broadcast: Broadcast) -> PreparedBody:
        media = _media(broadcast) if _has_media(broadcast) else None
        if media is None:
            return PreparedBody(text_payload("", broadcast.text))
        kind, media_id, filename = media
        object_ = media_object(kind, media_id, caption=broadcast.text, filename=filename)
        return PreparedBody(media_payload("", kind, object_))

    def render(self, d: Outgoing) -> bytes | dict:
        callback = f"delivery:{d.id}"
        if d.kind == Delivery.Kind.REPLY:
            return text_payload(d.recipient, d.text, callback=callback)
        if d.kind == Delivery.Kind.NOTICE and not d.broadcast_id:
            return self.default_body(d.text).render(d.recipient, callback)
        if d.free and d.kind == Delivery.Kind.BROADCAST:
            return self.free_bodies[d.broadcast_id].render(d.recipient, callback)
        return self.bodies[d.broadcast_id].render(d.recipient, callback)

    async def send(self, d: Outgoing, payload) -> SendResult:
        return await self.client.send(payload)


class Unrenderable:
    def __init__(self, problem: Exception):
        self.problem = problem

    def render(self, to: str, callback: str) -> bytes:
        raise ValueError(str(self.problem))


def _has_media(broadcast: Broadcast) -> bool:
    # The reverse one-to-one raises (an AttributeError) when there is none.
    return getattr(broadcast, "media", None) is not None


def _media(broadcast: Broadcast) -> tuple[str, str, str]:
    """(kind, provider id, filename) of the broadcast's uploaded attachment."""
    if not _has_media(broadcast):
        raise ValueError(f"broadcast {broadcast.pk}: its template shows an attachment it lacks")
    media = broadcast.media
    if not media.provider_id:
        raise ValueError(f"broadcast {broadcast.pk}: its attachment was never uploaded")
    return MEDIA_KIND.get(media.mime_type, "document"), media.provider_id, media.filename
