"""The contract between a channel kind and the parts that know no kind.

The dispatcher and the webhook processing call only what is here; everything that is
WhatsApp (or later Telegram, e-mail) lives in `channels/<kind>/`, which registers one
`ChannelKind` in `channels/registry.py`. healthchecks' `hc/integrations/<name>/` is the model.

Sending: a `Transport` per leased channel renders a claimed delivery to bytes and sends them;
it never raises for provider or network trouble, it returns a `SendResult` whose error
carries the kind's `Verdict`. Receiving: a kind's `WebhookReader` checks a request is
genuine and turns a body into kind-free items (`StatusItem`, `MessageItem`, `StopItem`),
each naming the account (e.g. WhatsApp's phone-number id) it was addressed to.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel

if TYPE_CHECKING:
    import aiohttp

    from banditore.channels.models import Channel


class Action(enum.StrEnum):
    # Transient: try the same message again later (throttling, 5xx, network, maintenance).
    RETRY = "retry"
    # This number can't or mustn't get messages: mark the subscriber unreachable, stop trying.
    RECIPIENT_PERMANENT = "recipient_permanent"
    # The citizen told the provider to stop (WhatsApp 131050): an opt-out, with its proof.
    OPTED_OUT = "opted_out"
    # Free text outside the 24-hour service window: only a template can reach them now.
    WAIT_FOR_WINDOW = "wait_for_window"
    # Account, credentials, template or request shape is wrong for every send: pause the
    # channel and tell the operator; retrying would only burn the list.
    STOP_CHANNEL = "stop_channel"


@dataclass(frozen=True)
class Verdict:
    action: Action
    # Seconds to wait before the retry; None = the dispatcher's exponential backoff.
    retry_after: float | None = None
    # The whole channel must slow down (throughput cap), not just this message.
    throttle_channel: bool = False
    # The provider itself is in trouble (5xx, network): the channel's circuit breaker counts
    # it, and the delivery's own retry budget is not what should absorb it.
    provider_trouble: bool = False


RETRY = Verdict(Action.RETRY)
RECIPIENT = Verdict(Action.RECIPIENT_PERMANENT)
STOP = Verdict(Action.STOP_CHANNEL)


@dataclass(frozen=True)
class SendError:
    code: int
    title: str
    verdict: Verdict


@dataclass(frozen=True)
class SendResult:
    """Sent (a provider id, "" if the provider's answer didn't say which) or an error."""

    provider_id: str | None = None
    error: SendError | None = None
    # Something odd about an accepted send, kept on the delivery for the operator.
    note: str = ""


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, as much of it as a transport needs to render it."""

    id: int
    kind: str  # Delivery.Kind
    recipient: str
    text: str
    broadcast_id: int | None
    priority: int
    attempts: int
    created_at: datetime
    # A broadcast to a citizen whose 24-hour window is open: it goes as free text (not paid,
    # not counted by the provider's messaging limit) instead of the template.
    free: bool = False


class Transport:
    """Sends one channel's deliveries. One instance per leased channel per dispatcher."""

    def __init__(self, channel: Channel, session: aiohttp.ClientSession, timeout: float):
        self.channel = channel
        self.session = session
        self.timeout = timeout

    def prepare(self, broadcast_ids: Iterable[int]) -> None:
        """Called (on a database thread) with each broadcast's id before its first delivery
        is rendered: load what rendering needs and cache its bodies."""

    def render(self, delivery: Outgoing) -> bytes | dict:
        raise NotImplementedError

    async def send(self, delivery: Outgoing, payload: bytes | dict) -> SendResult:
        """Never raises for provider or network trouble: the error says what happened."""
        raise NotImplementedError


# -- What a webhook says, whatever the kind.


@dataclass(frozen=True)
class StatusItem:
    """The provider's word on a message we sent: sent, delivered, read or failed."""

    account: str
    provider_id: str
    status: str
    at: datetime | None
    error: SendError | None = None


@dataclass(frozen=True)
class MessageItem:
    """A citizen wrote to us. `sender` is the provider's id of them (WhatsApp: the number
    without "+"; Telegram: the chat id); the kind's `sender_address` reads it."""

    account: str
    provider_id: str
    sender: str
    at: datetime | None
    text: str
    type: str = "text"


@dataclass(frozen=True)
class StopItem:
    """The citizen asked the provider itself to stop messages from us."""

    account: str
    sender: str
    at: datetime | None
    evidence: Mapping


@dataclass(frozen=True)
class TemplateItem:
    """The provider changed one of our message templates: its status (approved, paused,
    rejected…) or its category (which decides its price). `account` is the account that owns
    templates (WhatsApp: the business account, not a phone number); None = unchanged.
    `impending`: the provider announces a category change it will make later."""

    account: str
    name: str
    language: str
    provider_id: str
    status: str | None = None
    category: str | None = None
    reason: str = ""
    impending: bool = False


@dataclass(frozen=True)
class SyncedTemplate:
    """A template as the provider lists it, in the provider's own words."""

    name: str
    language: str
    category: str
    status: str
    components: list
    parameter_format: str = "positional"
    provider_id: str = ""
    reason: str = ""


class TemplateSource(Protocol):
    """A kind whose business-initiated messages must be pre-approved templates, within a
    provider's limit of recipients per day."""

    def account(self, config: BaseModel) -> str:
        """The account templates belong to (WhatsApp: the WABA id)."""

    def fetch(self, config: BaseModel) -> list[SyncedTemplate]:
        """Every template of the account, from the provider's API. Raises TemplateSyncError."""

    def messaging_limit(self, config: BaseModel) -> tuple[bool, int | None]:
        """(known, unique recipients per rolling 24 h or None for unlimited), from the
        provider. Raises TemplateSyncError."""


class TemplateSyncError(Exception):
    """The provider's template list could not be read (network, credentials, …)."""


def http_url(value: str, example: str) -> str:
    """A kind's provider URL, checked as its settings are saved."""
    from django.utils.translation import gettext as _

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(_("must be an http(s) URL, e.g. %s") % example)
    return value


class MalformedWebhook(ValueError):
    """A genuine request whose body can't be read: refused with a 400, nothing stored."""


class WebhookReader(Protocol):
    def handshake(self, config: BaseModel, params: Mapping[str, str]) -> str | None:
        """The text to answer a provider's subscription check with, or None to refuse."""

    def verify(self, config: BaseModel, body: bytes, headers: Mapping[str, str]) -> bool: ...

    def parse(self, body: bytes) -> list[StatusItem | MessageItem | StopItem | TemplateItem]:
        """Raises MalformedWebhook."""

    def shares_sender(self, verified: BaseModel, other: BaseModel) -> bool:
        """Whether a body verified with one channel's settings may speak for another
        channel too (WhatsApp: one Meta app, one secret, several numbers)."""

    def sender_address(self, sender: str) -> str | None:
        """A MessageItem's or StopItem's sender as the address we keep for it (WhatsApp: the
        number in E.164), or None if it is none we could ever write to."""


@dataclass(frozen=True)
class ChannelKind:
    name: str
    label: str
    config: type[BaseModel]
    transport: type[Transport]
    webhooks: WebhookReader
    # Which account an item must name to belong to a channel (WhatsApp: phone_number_id).
    account_field: str
    # None for kinds that send anything at any time (no templates to sync).
    templates: TemplateSource | None = None
    # The settings that are credentials: encrypted at rest (channels/secrets.py holds every
    # kind's), write-only in the console.
    secrets: tuple[str, ...] = ()
    # The provider's least time between two messages to one recipient, in seconds; None:
    # the channel's own rate is the only limit.
    recipient_interval: float | None = None
    # The setting that names the comune's public channel, which a broadcast is also posted
    # to once (Telegram: public_channel); None for kinds that have none.
    public_field: str | None = None
    # A sent post's public link, from its recipient and provider id.
    post_link: Callable[[str, str], str] | None = None

    def account(self, config: BaseModel) -> str:
        return str(getattr(config, self.account_field))

    def public_address(self, config: BaseModel) -> str:
        """Where a broadcast is posted for the public, or "" if nowhere."""
        return str(getattr(config, self.public_field) or "") if self.public_field else ""
