"""E-mail behind the channel contract: a delivery rendered as a message, sent through
Django's mail API (SMTP, or an ESP's API through anymail) off the event loop.

An e-mail may go to anyone at any time at the same price: no templates, no 24-hour window.
A broadcast's subject, text part and HTML part are made once (`prepare`); each message adds
its recipient's unsubscribe link (footer, List-Unsubscribe) and a Message-ID of ours, which
is the provider id kept for the delivery: SMTP gives none back, and tracking webhooks name
the message by it (tracking.py). A reply or a notice is its own text, with the same footer.

Django's backends block, so sends run in a thread pool of this transport's own, as many
threads as the channel's `max_connections`, each connection kept open between sends. The
contract has no close: the pool and its connections go with the transport (a finaliser
closes their sockets); `close()` or `aclose()` says goodbye to the servers properly, for
a caller that can.
"""

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.base import RECIPIENT, Outgoing, SendError, SendResult, Transport
from banditore.channels.email import errors, rendering
from banditore.channels.email.config import EmailConfig
from banditore.channels.email.mailer import Mailer
from banditore.channels.email.unsubscribe import one_click_url

# A reply is ours and short; this only keeps a freak one from becoming a huge message.
REPLY_MAX = 20_000


class Unrenderable:
    def __init__(self, problem: str):
        self.problem = problem


class EmailTransport(Transport):
    def __init__(self, channel, session, timeout: float):
        super().__init__(channel, session, timeout)
        self.config = EmailConfig.model_validate(channel.config)
        self.organization_id = channel.organization_id
        backend, settings = self.config.connection_settings(timeout)
        self.mailer = Mailer(backend, settings, self.config.sender, self.config.reply_to)
        self.executor = ThreadPoolExecutor(
            max_workers=self.config.max_connections,
            thread_name_prefix=f"email-channel-{getattr(channel, 'pk', '')}",
        )
        self.bodies: dict[int, rendering.Body | Unrenderable] = {}
        self._finalizer = weakref.finalize(self, _drop, self.mailer, self.executor)

    def prepare(self, broadcast_ids) -> None:
        wanted = [i for i in broadcast_ids if i not in self.bodies]
        if not wanted:
            return
        rows = Broadcast.objects.filter(id__in=wanted).values_list("id", "title", "text")
        found = {pk: (title, text) for pk, title, text in rows}
        for broadcast_id in wanted:
            if broadcast_id in found:
                title, text = found[broadcast_id]
                self.bodies[broadcast_id] = rendering.body(text, title)
            else:
                # Rendering raises, so each send records why and the channel pauses.
                self.bodies[broadcast_id] = Unrenderable(f"broadcast {broadcast_id} is gone")

    def render(self, d: Outgoing) -> dict:
        if d.broadcast_id and d.kind != Delivery.Kind.REPLY:
            content = self.bodies[d.broadcast_id]
            if isinstance(content, Unrenderable):
                raise ValueError(content.problem)
        else:
            content = rendering.body(d.text[:REPLY_MAX])
        url = one_click_url(self.config.public_base_url, self.organization_id, d.recipient)
        message = rendering.message(
            content,
            delivery_id=d.id,
            from_email=self.config.from_email,
            unsubscribe_url=url,
            mailto=self.config.mailto,
        )
        return {
            "to": d.recipient,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "headers": message.headers,
            "message_id": message.message_id,
        }

    async def send(self, d: Outgoing, payload) -> SendResult:
        try:
            validate_email(payload["to"])
        except ValidationError:
            # An erased citizen's blanked address, or one no message can carry: this row only.
            title = f"not an e-mail address: {payload['to'][:200]!r}"
            return SendResult(error=SendError(errors.INVALID_ADDRESS, title, RECIPIENT))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.mailer.send, payload)

    def close(self) -> None:
        """Close the thread pool and the kept connections (a QUIT to each server); blocking:
        from a coroutine, `await aclose()`."""
        self._finalizer.detach()
        self.executor.shutdown(wait=True)
        self.mailer.close()

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)


def _drop(mailer: Mailer, executor: ThreadPoolExecutor) -> None:
    executor.shutdown(wait=False)
    mailer.drop()
