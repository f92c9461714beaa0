"""Citizens' messages: commands change the subscription, anything else gets the pointer.

The service never enters a conversation: each message gets at most one automatic answer,
and the pointer at most once per number per `pointer_interval_hours`. Every command carries
the citizen's own time (`when`), so the subscription service can ignore one older than the
last it applied: a late retry of ISCRIVIMI never undoes a newer CANCELLAMI.
"""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from banditore.broadcasts.direct import reply
from banditore.channels import registry
from banditore.channels.base import MessageItem, StopItem
from banditore.channels.models import Channel
from banditore.subscribers import chat, replies, service
from banditore.subscribers.contacts import Address
from banditore.subscribers.keywords import Command
from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import InboundMessage

H = InboundMessage.Handling
HANDLING = {Command.SUBSCRIBE: H.SUBSCRIBE, Command.UNSUBSCRIBE: H.UNSUBSCRIBE}


def pointer(org, subscriber: Subscriber | None) -> str:
    """Where to write instead, and what this number can do here: join, or leave."""
    text = replies.text(org, "pointer_text")
    subscribed = subscriber is not None and subscriber.status in (
        Subscriber.Status.ACTIVE,
        Subscriber.Status.PENDING,
    )
    if subscribed:
        hint = "" if replies.mentions_leaving(text) else replies.text(org, "leave_text")
    else:
        said = replies.JOIN_WORD.lower() in text.lower()
        hint = "" if said else replies.text(org, "join_text")
    return replies.join(text, hint)


def sender(channel: Channel, provider_sender: str) -> Address | None:
    """Who wrote, as the address we keep for them; None if we could never answer."""
    value = registry.of(channel).webhooks.sender_address(provider_sender)
    return Address(channel.kind, value) if value else None


def apply_message(channel: Channel, message: MessageItem, when: datetime) -> InboundMessage | None:
    """Handle one inbound message exactly once (keyed by its provider id on the channel:
    Telegram numbers messages per chat, so two bots may see the same id)."""
    if InboundMessage.objects.filter(channel=channel, wamid=message.provider_id).exists():
        return None  # a repeated webhook
    who = sender(channel, message.sender)
    if who is None:
        return None
    address = who.value
    org = channel.organization
    text = message.text
    parsed = org.keywords.parse(text)
    evidence = {"wamid": message.provider_id, "text": text[:200]}
    outcome = chat.handle(org, who, parsed, evidence=evidence, when=when)
    answer = outcome.reply
    if parsed is not None:
        handling = HANDLING.get(parsed.command, H.COMMAND)
    else:
        recent = timezone.now() - timedelta(hours=org.pointer_interval_hours)
        already_pointed = InboundMessage.objects.filter(
            organization=org, sender=address, handling=H.POINTER, received_at__gte=recent
        ).exists()
        handling = H.IGNORED if already_pointed else H.POINTER
        answer = None if already_pointed else pointer(org, outcome.subscriber)

    subscriber = outcome.subscriber
    if subscriber is not None:
        # Forward only: a late webhook of an older message must not move it back.
        Subscriber.objects.filter(pk=subscriber.pk).filter(
            Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lt=when)
        ).update(last_inbound_at=when)
    inbound = InboundMessage.objects.create(
        organization=org,
        channel=channel,
        subscriber=subscriber,
        sender=address,
        wamid=message.provider_id,
        type=message.type,
        text=text,
        sent_at=when,
        handling=handling,
    )
    if answer:
        reply(channel, address, answer, subscriber)
    return inbound


def apply_stop(channel: Channel, stop: StopItem, when: datetime) -> None:
    """The provider's own opt-out ('Stop promotions' in WhatsApp, a blocked Telegram bot)
    unsubscribes, silently."""
    who = sender(channel, stop.sender)
    if who is None:
        return
    service.unsubscribe(
        channel.organization,
        who,
        source=ConsentEvent.Source.PROVIDER,
        evidence=dict(stop.evidence),
        when=when,
    )
