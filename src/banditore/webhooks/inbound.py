"""Citizens' messages: commands change the subscription, anything else gets the pointer.

The service never enters a conversation: each message gets at most one automatic answer,
and the pointer at most once per number per `pointer_interval_hours`.
"""

from datetime import timedelta

from django.utils import timezone

from banditore.broadcasts.direct import reply
from banditore.channels.models import Channel
from banditore.channels.whatsapp.payloads import Message, UserPreference, moment
from banditore.core.phone import InvalidNumber, from_whatsapp_id
from banditore.subscribers import chat, service
from banditore.subscribers.keywords import Command
from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import InboundMessage

H = InboundMessage.Handling
HANDLING = {Command.SUBSCRIBE: H.SUBSCRIBE, Command.UNSUBSCRIBE: H.UNSUBSCRIBE}


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
    sent_at = moment(message.timestamp)
    text = message.body
    parsed = org.keywords.parse(text)
    evidence = {"wamid": message.id, "text": text[:200]}
    outcome = chat.handle(org, phone, parsed, evidence=evidence, when=sent_at)
    answer = outcome.reply
    if parsed is not None:
        handling = HANDLING.get(parsed.command, H.COMMAND)
    else:
        recent = timezone.now() - timedelta(hours=org.pointer_interval_hours)
        already_pointed = InboundMessage.objects.filter(
            organization=org, sender=phone, handling=H.POINTER, received_at__gte=recent
        ).exists()
        handling = H.IGNORED if already_pointed else H.POINTER
        answer = None if already_pointed else org.render(org.pointer_text)

    subscriber = outcome.subscriber
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
        reply(channel, phone, answer, subscriber)
    return inbound


def apply_preference(channel: Channel, preference: UserPreference) -> None:
    """Meta's own opt-out ('Stop promotions' in WhatsApp) unsubscribes, silently."""
    if preference.value != "stop":
        return
    try:
        phone = from_whatsapp_id(preference.wa_id)
    except InvalidNumber:
        return
    service.unsubscribe(
        channel.organization,
        phone,
        source=ConsentEvent.Source.PROVIDER,
        evidence={"user_preferences": preference.category, "value": preference.value},
        when=moment(preference.timestamp),
    )
