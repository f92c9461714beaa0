"""Citizens' messages: keywords change the subscription, anything else gets the pointer.

The service never enters a conversation: each message gets at most one automatic answer,
and the pointer at most once per number per `pointer_interval_hours`.
"""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from banditore.broadcasts.models import Delivery, Priority
from banditore.channels.models import Channel
from banditore.channels.whatsapp.payloads import Message
from banditore.core.phone import InvalidNumber, from_whatsapp_id
from banditore.subscribers import service
from banditore.subscribers.keywords import DEFAULT_KEYWORDS, Command
from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import InboundMessage

H = InboundMessage.Handling


def _sent_at(message: Message) -> datetime:
    try:
        return datetime.fromtimestamp(int(message.timestamp), tz=UTC)
    except (ValueError, OverflowError):
        return timezone.now()


def reply(channel: Channel, phone: str, text: str, subscriber: Subscriber | None) -> Delivery:
    """Queue a free-text answer; it goes out through the dispatcher like everything else."""
    return Delivery.objects.create(
        organization_id=channel.organization_id,
        channel=channel,
        subscriber=subscriber,
        kind=Delivery.Kind.REPLY,
        recipient=phone,
        text=text,
        # Ahead of newsletters: the citizen is looking at the chat right now.
        priority=Priority.URGENT,
    )


def apply_message(channel: Channel, message: Message) -> InboundMessage | None:
    """Handle one inbound message exactly once (keyed by its wamid)."""
    if InboundMessage.objects.filter(wamid=message.id).exists():
        return None  # a repeated webhook
    try:
        phone = from_whatsapp_id(message.sender)
    except InvalidNumber:
        # Usernames without a shared number (2026) or junk: nothing we can subscribe.
        return None
    org = channel.organization
    sent_at = _sent_at(message)
    text = message.body
    parsed = DEFAULT_KEYWORDS.parse(text)
    evidence = {"wamid": message.id, "text": text[:200]}
    source = ConsentEvent.Source.WHATSAPP

    subscriber = Subscriber.objects.filter(organization=org, phone=phone).first()
    if parsed and parsed.command == Command.SUBSCRIBE:
        change = service.subscribe(org, phone, source=source, evidence=evidence, when=sent_at)
        subscriber = change.subscriber
        handling = H.SUBSCRIBE
        answer = org.welcome_text if change.changed else org.already_text
    elif parsed and parsed.command == Command.UNSUBSCRIBE:
        change = service.unsubscribe(org, phone, source=source, evidence=evidence, when=sent_at)
        subscriber = change.subscriber if change else subscriber
        handling = H.UNSUBSCRIBE
        answer = org.goodbye_text
    else:
        recent = timezone.now() - timedelta(hours=org.pointer_interval_hours)
        already_pointed = InboundMessage.objects.filter(
            organization=org, sender=phone, handling=H.POINTER, received_at__gte=recent
        ).exists()
        handling = H.IGNORED if already_pointed else H.POINTER
        answer = None if already_pointed else org.pointer_text

    if subscriber is not None:
        Subscriber.objects.filter(pk=subscriber.pk).update(last_inbound_at=sent_at)
    inbound = InboundMessage.objects.create(
        organization=org,
        channel=channel,
        subscriber=subscriber,
        sender=phone,
        wamid=message.id,
        type=message.type,
        text=text,
        sent_at=sent_at,
        handling=handling,
    )
    if answer:
        reply(channel, phone, org.render(answer), subscriber)
    return inbound
