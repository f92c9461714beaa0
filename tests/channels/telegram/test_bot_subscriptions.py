"""A citizen subscribes to the comune's Telegram bot: /start, the same commands as on
WhatsApp, replies from the bot, a blocked bot as an opt-out. The updates are the sandbox's own
(read with getUpdates, stored as the webhook would store them), the processing is the
webhooks' one, and the dispatcher sends the replies to the sandbox over HTTP."""

import asyncio
import json

import aiohttp
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from banditore.broadcasts import audience, cost
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.models import Channel
from banditore.sandbox.telegram.config import BotConfig
from banditore.subscribers import contacts, privacy, service
from banditore.subscribers.contacts import Address
from banditore.subscribers.models import ConsentEvent, Contact, Subscriber
from banditore.webhooks.models import InboundMessage, WebhookEvent
from banditore.webhooks.tasks import apply_pending_events
from tests.dispatch.test_pump import until, with_dispatcher
from tests.factories import make_comune, subscribe

from .harness import (
    BOT,
    CITIZEN,
    PUBLIC_CHANNEL,
    received,
    running_sandbox,
    sandbox_config,
    settings,
    start,
)

pytestmark = pytest.mark.django_db(transaction=True)
CHAT = Address("telegram", str(CITIZEN))
TEXT = "Domani mercato in piazza"


def telegram_channel(org, url: str, **changes) -> Channel:
    return Channel.objects.create(
        organization=org,
        kind=Channel.Kind.TELEGRAM,
        name="Telegram",
        config=settings(url, **changes),
        rate_per_second=30,
    )


def setup(url: str):
    org = make_comune(base_url=url)
    return org, telegram_channel(org, url)


async def updates_to_webhooks(sb, channel: Channel, token: str = BOT.token) -> int:
    """What Telegram would have posted to the channel's webhook URL, stored as the receiver
    stores it, then applied."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{sb.url}/bot{token}/getUpdates", json={"timeout": 0}) as r:
            found = (await r.json())["result"]
        if found:
            offset = found[-1]["update_id"] + 1
            await session.post(f"{sb.url}/bot{token}/getUpdates", json={"offset": offset})

    def store_and_apply():
        for update in found:
            WebhookEvent.objects.create(channel=channel, body=json.dumps(update))
        apply_pending_events()

    await sync_to_async(store_and_apply)()
    return len(found)


def news(org) -> Broadcast:
    """A broadcast as the press office makes it, on the comune's WhatsApp channel."""
    return Broadcast.objects.create(
        organization=org, channel=org.channels.get(kind="whatsapp"), text=TEXT
    )


def outbox_empty() -> bool:
    return not Delivery.objects.filter(status__in=["queued", "sending"]).exists()


async def send_replies() -> None:
    await with_dispatcher(lambda _d: until(outbox_empty, 20, "the replies"))


async def citizen_writes(sb, channel: Channel, text: str) -> None:
    await start(sb, CITIZEN, text)
    assert await updates_to_webhooks(sb, channel) == 1
    await send_replies()


def test_start_subscribes_the_chat_and_the_welcome_reaches_it():
    async def scenario():
        async with running_sandbox(sandbox_config()) as sb:
            org, channel = await sync_to_async(setup)(sb.url)
            await citizen_writes(sb, channel, "/start")

            def check():
                subscriber = contacts.of(org, CHAT).get()
                assert subscriber.status == Subscriber.Status.ACTIVE
                assert subscriber.phone == ""
                contact = subscriber.contacts.get()
                assert (contact.kind, contact.address) == ("telegram", str(CITIZEN))
                assert contact.verified_at is not None
                event = subscriber.consent_events.get()
                assert (event.action, event.source) == ("subscribe", "telegram")
                assert (event.contact_kind, event.contact) == ("telegram", str(CITIZEN))
                assert event.phone_hash == CHAT.proof_hash()
                reply = Delivery.objects.get(kind=Delivery.Kind.REPLY)
                assert (reply.channel_id, reply.recipient, reply.status) == (
                    channel.pk,
                    str(CITIZEN),
                    "sent",
                )
                return reply.text

            welcome = await sync_to_async(check)()
            got = await received(sb)
            assert [m["text"] for m in got] == [welcome]
            assert "CANCELLAMI" in welcome

    asyncio.run(scenario())


def test_cancellami_from_the_chat_unsubscribes_and_the_goodbye_goes_out():
    async def scenario():
        async with running_sandbox(sandbox_config()) as sb:
            org, channel = await sync_to_async(setup)(sb.url)

            async def both(_dispatcher):
                # One worker sends both replies, the second well within a second of the first.
                for text in ("/iscrivimi", "/cancellami"):
                    await start(sb, CITIZEN, text)
                    assert await updates_to_webhooks(sb, channel) == 1
                    await until(outbox_empty, 20, "the reply")

            await with_dispatcher(both)

            def check():
                subscriber = contacts.of(org, CHAT).get()
                assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
                actions = list(
                    subscriber.consent_events.values_list("action", "source").order_by("id")
                )
                assert actions == [("subscribe", "telegram"), ("unsubscribe", "telegram")]
                return list(
                    Delivery.objects.order_by("id").values_list("text", "status", "recipient")
                )

            rows = await sync_to_async(check)()
            assert [(s, r) for _, s, r in rows] == [("sent", str(CITIZEN))] * 2
            # The goodbye followed the welcome by less than Telegram's second per chat: the
            # dispatcher spaced them, so Telegram never had to refuse one.
            stats = await sb.control("GET", "telegram/stats")
            assert stats["rate_limited_429"] == 0
            got = await received(sb)
            assert [m["text"] for m in got] == [text for text, _, _ in rows]

    asyncio.run(scenario())


def test_blocking_the_bot_unsubscribes_with_the_provider_as_source():
    async def scenario():
        async with running_sandbox(sandbox_config()) as sb:
            org, channel = await sync_to_async(setup)(sb.url)
            await citizen_writes(sb, channel, "/start")
            await sb.control("POST", "telegram/block", {"user": CITIZEN})
            assert await updates_to_webhooks(sb, channel) == 1

            def check():
                subscriber = contacts.of(org, CHAT).get()
                assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
                event = subscriber.consent_events.order_by("id").last()
                assert (event.action, event.source) == ("unsubscribe", "provider")
                assert event.evidence["my_chat_member"] == "kicked"

            await sync_to_async(check)()

    asyncio.run(scenario())


def test_two_comuni_bots_each_hear_the_same_citizen_with_the_same_message_number():
    # Telegram numbers messages per chat: the first message to each bot is number 1.
    other = "987654321:altro-token-del-secondo-comune"
    config = sandbox_config()
    config.telegram.bots.append(BotConfig(token=other, id=987654321, username="AltroBot"))

    async def scenario():
        async with running_sandbox(config) as sb:
            _, first = await sync_to_async(setup)(sb.url)

            def second_comune():
                org = make_comune("altro")
                return telegram_channel(org, sb.url, bot_token=other, bot_username="AltroBot")

            second = await sync_to_async(second_comune)()
            await start(sb, CITIZEN, "/start")
            await updates_to_webhooks(sb, first)
            # The same citizen's first message to the other bot carries the same ids.
            message = {"from": CITIZEN, "text": "/start", "bot": "AltroBot"}
            await sb.control("POST", "telegram/inbound", message)
            await updates_to_webhooks(sb, second, token=other)

            def check():
                ids = list(InboundMessage.objects.values_list("channel_id", "wamid"))
                assert {c for c, _ in ids} == {first.pk, second.pk}
                assert len({w for _, w in ids}) == 1, ids
                assert Contact.objects.filter(address=str(CITIZEN)).count() == 2
                assert Subscriber.objects.filter(status="active").count() == 2

            await sync_to_async(check)()

    asyncio.run(scenario())


def test_erasing_a_telegram_citizen_keeps_only_the_hashed_proof():
    async def scenario():
        async with running_sandbox(sandbox_config()) as sb:
            org, channel = await sync_to_async(setup)(sb.url)
            await citizen_writes(sb, channel, "/start")

            def erase_and_check():
                assert privacy.erase(org, CHAT, actor_label="ufficio")
                assert not Subscriber.objects.exists()
                assert not Contact.objects.exists()
                assert not InboundMessage.objects.exists()
                assert set(Delivery.objects.values_list("recipient", flat=True)) == {""}
                proof = ConsentEvent.objects.filter(organization=org)
                assert not proof.exclude(contact="").exists()
                assert set(proof.values_list("phone_hash", flat=True)) == {CHAT.proof_hash()}
                assert set(proof.values_list("action", flat=True)) == {"subscribe", "erase"}

            await sync_to_async(erase_and_check)()

    asyncio.run(scenario())


def test_a_broadcast_reaches_the_bots_citizen_on_telegram_and_the_others_on_whatsapp():
    phone = "+393335550001"

    async def scenario():
        async with running_sandbox(sandbox_config()) as sb:
            org, channel = await sync_to_async(setup)(sb.url)
            await citizen_writes(sb, channel, "/start")

            def send():
                subscribe(org, phone)
                broadcast = news(org)
                assert audience.targeted(broadcast).count() == 2
                audience.start(broadcast)
                return set(
                    Delivery.objects.filter(broadcast=broadcast).values_list(
                        "kind", "recipient", "channel__kind"
                    )
                )

            assert await sync_to_async(send)() == {
                ("broadcast", str(CITIZEN), "telegram"),
                ("broadcast", phone, "whatsapp"),
                # Once for all the followers of the comune's public channel.
                ("post", PUBLIC_CHANNEL.username, "telegram"),
            }
            await send_replies()
            chat = await received(sb)
            assert [m["text"].split("\n")[0] for m in chat][-1] == TEXT
            assert [m["type"] for m in await sb.received(phone)] == ["template"]
            channel_posts = "telegram/posts?channel=" + PUBLIC_CHANNEL.username
            [post] = await sb.control("GET", channel_posts)
            assert post["text"].startswith(TEXT + "\n\n")

            def archive_page():
                broadcast = Broadcast.objects.get()
                assert broadcast.status == Broadcast.Status.SENT
                assert broadcast.recipients.count() == 2  # the post is no recipient
                return Client().get(f"/archivio/{broadcast.pk}/").content.decode()

            name = PUBLIC_CHANNEL.username.removeprefix("@")
            link = f'href="https://t.me/{name}/{post["message_id"]}"'
            assert link in await sync_to_async(archive_page)()

            def unpaid():
                broadcast = Broadcast.objects.get()
                return cost.audience_by_country(broadcast, timezone.now())

            # Only the WhatsApp message is paid: one Italian recipient.
            assert await sync_to_async(unpaid)() == {"IT": (1, 0)}

    asyncio.run(scenario())


def test_a_chat_never_proven_is_not_in_the_audience():
    def scenario():
        org = make_comune()
        telegram_channel(org, "http://127.0.0.1:9")
        # A chat an operator added, never proven by a message from it.
        service.subscribe(org, CHAT, source="operator", evidence={"test": True})
        assert Contact.objects.get().verified_at is None
        assert audience.targeted(news(org)).count() == 0

    scenario()


def test_a_send_refused_because_the_bot_was_blocked_unsubscribes_the_chat():
    async def scenario():
        async with running_sandbox(sandbox_config()) as sb:
            org, channel = await sync_to_async(setup)(sb.url)
            await citizen_writes(sb, channel, "/start")
            # Blocked, and the update saying so not applied yet: the send finds out first.
            await sb.control("POST", "telegram/block", {"user": CITIZEN})

            broadcast = await sync_to_async(news)(org)
            await sync_to_async(audience.start)(broadcast)
            await send_replies()

            def check():
                delivery = Delivery.objects.get(broadcast=broadcast, kind="broadcast")
                assert (delivery.status, delivery.error_code) == ("failed", 40301)
                subscriber = contacts.of(org, CHAT).get()
                assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
                event = subscriber.consent_events.order_by("id").last()
                assert (event.action, event.source) == ("unsubscribe", "provider")
                assert event.evidence == {"error": [40301]}

            await sync_to_async(check)()
            assert len(await received(sb)) == 1  # the welcome only

    asyncio.run(scenario())


def test_a_public_channel_telegram_refuses_doesnt_hold_up_the_broadcast():
    async def scenario():
        async with running_sandbox(sandbox_config()) as sb:

            def setup_and_send():
                org = make_comune(base_url=sb.url)
                telegram_channel(org, sb.url, public_channel="@canale_inesistente")
                subscribe(org, "+393335550002")
                broadcast = news(org)
                audience.start(broadcast)
                return broadcast

            broadcast = await sync_to_async(setup_and_send)()
            await send_replies()

            def check():
                post = Delivery.objects.get(broadcast=broadcast, kind="post")
                assert (post.status, post.error_title) == ("failed", "Bad Request: chat not found")
                assert Broadcast.objects.get().status == Broadcast.Status.SENT
                assert Delivery.objects.get(kind="broadcast").status == "sent"

            await sync_to_async(check)()

    asyncio.run(scenario())
