"""WhatsApp's messaging limit: no more unique template recipients in 24 hours than the
channel's tier allows; the rest wait (not spinning) until places free up, then go by
themselves, each citizen once; free text never waits; an emergency takes the places first.

The dispatcher runs in this process against a real sandbox over HTTP."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db.models import F
from django.utils import timezone, translation

from banditore.broadcasts import audience, progress, window
from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.subscribers.models import Subscriber
from tests.dispatch.test_pump import until, with_dispatcher
from tests.factories import make_comune
from tests.sandbox.harness import running_sandbox

pytestmark = pytest.mark.django_db(transaction=True)


def comune_with_limit(url: str, limit: int):
    org = make_comune(base_url=url, rate=100)
    channel = org.channels.get()
    channel.config = {**channel.config, "messaging_limit": limit}
    channel.save()
    return org


def citizens(org, numbers: list[str], topic: str | None = None) -> None:
    Subscriber.objects.bulk_create(
        Subscriber(organization=org, phone=p, status="active") for p in numbers
    )
    if topic:
        chosen = org.topics.get(slug=topic)
        for s in Subscriber.objects.filter(phone__in=numbers):
            s.topics.add(chosen)


def broadcast(org, text: str, priority=Priority.NORMAL, topic: str | None = None) -> Broadcast:
    b = Broadcast.objects.create(
        organization=org, channel=org.channels.get(), text=text, priority=priority
    )
    if topic:
        b.topics.set([org.topics.get(slug=topic)])
    audience.start(b)
    return b


def due(broadcast_id: int) -> int:
    """Rows the dispatcher could still take now (or has in flight)."""
    now = timezone.now()
    rows = Delivery.objects.filter(broadcast_id=broadcast_id, status__in=["queued", "sending"])
    return rows.exclude(next_attempt_at__gt=now).count()


def waiting(broadcast_id: int):
    return Delivery.objects.filter(
        broadcast_id=broadcast_id, status="queued", next_attempt_at__gt=timezone.now()
    )


async def types_by_number(sb, numbers) -> dict[str, list[str]]:
    return {n: [m["type"] for m in await sb.received(n)] for n in numbers}


def test_a_broadcast_beyond_the_limit_sends_its_share_and_the_rest_follow_when_it_frees():
    numbers = [f"+39333500{i:04d}" for i in range(120)]
    talkers = set(numbers[::6])  # 20 wrote an hour ago: free text, never limited

    async def scenario():
        async with running_sandbox() as sb:

            def setup():
                org = comune_with_limit(sb.url, 50)
                citizens(org, numbers)
                Subscriber.objects.filter(phone__in=talkers).update(
                    last_inbound_at=timezone.now() - timedelta(hours=1)
                )
                return broadcast(org, "Nuovo calendario della raccolta")

            for number in talkers:
                await sb.inbound(number, "Grazie")
            b = await sync_to_async(setup)()

            async def first_window(_):
                await until(lambda: due(b.pk) == 0, 30, "the first window's share")
                await asyncio.sleep(0.5)  # nothing more may go out

            await with_dispatcher(first_window)
            got = await types_by_number(sb, numbers)
            templates = {n for n, types in got.items() if types == ["template"]}
            texts = {n for n, types in got.items() if types == ["text"]}
            assert texts == talkers
            assert len(templates) == 50, Counter(map(tuple, got.values()))
            held = await sync_to_async(list)(waiting(b.pk).values_list("recipient", "error_code"))
            assert len(held) == 50 and {code for _, code in held} == {window.WAITING_FOR_TIER}
            assert {n for n, _ in held} == set(numbers) - templates - texts

            # They wait until the first place frees: 24 h after the first template (or, if
            # none had been written back yet when they were held, 24 h after that moment).
            def first_sent():
                return (
                    Delivery.objects.filter(broadcast=b, free=False, sent_at__isnull=False)
                    .order_by("sent_at")
                    .values_list("sent_at", flat=True)
                    .first()
                )

            frees = await sync_to_async(first_sent)() + window.FREE_WINDOW
            until_at = await sync_to_async(set)(
                waiting(b.pk).values_list("next_attempt_at", flat=True)
            )
            assert len(until_at) == 1
            assert frees - timedelta(minutes=1) < min(until_at) <= frees
            now = await sync_to_async(progress.progress)(b)
            assert (now.tier_waiting, now.tier_until) == (50, min(until_at))
            assert now.eta is None  # nothing else can go now

            def described():
                with translation.override("it"):
                    return progress.describe(now, "Europe/Rome")

            lines = await sync_to_async(described)()
            assert any(
                line.startswith("In attesa del limite di messaggi di WhatsApp fino alle")
                and line.endswith(": 50 destinatari")
                for line in lines
            ), lines

            # A day passes: yesterday's sends age out, the waiting rows fall due.
            def a_day_later():
                day = timedelta(hours=24)
                Delivery.objects.filter(sent_at__isnull=False).update(sent_at=F("sent_at") - day)
                waiting(b.pk).update(next_attempt_at=F("next_attempt_at") - day)

            await sync_to_async(a_day_later)()

            async def second_window(_):
                await until(
                    lambda: (
                        not Delivery.objects.filter(
                            broadcast=b, status__in=["queued", "sending"]
                        ).exists()
                    ),
                    30,
                    "the rest to drain",
                )

            await with_dispatcher(second_window, name="d2")
            got = await types_by_number(sb, numbers)
            assert all(len(types) == 1 for types in got.values()), "someone got two copies"
            assert sum(types == ["template"] for types in got.values()) == 100
            b_now = await sync_to_async(Broadcast.objects.get)(pk=b.pk)
            assert b_now.status == "sent"

    asyncio.run(scenario())


def test_an_emergency_takes_the_remaining_places_before_a_newsletter():
    news = [f"+39333600{i:04d}" for i in range(10)]
    alerted = [f"+39333700{i:04d}" for i in range(3)]

    async def scenario():
        async with running_sandbox() as sb:

            def setup():
                org = comune_with_limit(sb.url, 5)
                citizens(org, news, topic="eventi")
                citizens(org, alerted, topic="protezione-civile")
                newsletter = broadcast(org, "Sagra", topic="eventi")
                alert = broadcast(
                    org, "Allerta", priority=Priority.EMERGENCY, topic="protezione-civile"
                )
                return newsletter, alert

            newsletter, alert = await sync_to_async(setup)()

            async def drain(_):
                await until(
                    lambda: due(newsletter.pk) == 0 and due(alert.pk) == 0, 30, "the places"
                )

            await with_dispatcher(drain)
            got = await types_by_number(sb, news + alerted)
            assert all(got[n] == ["template"] for n in alerted), got
            assert sum(got[n] == ["template"] for n in news) == 2
            assert await sync_to_async(waiting(newsletter.pk).count)() == 8

    asyncio.run(scenario())


def test_free_text_holds_no_place_in_the_limit_and_the_estimate_agrees(comune):
    from banditore.broadcasts import cost
    from tests.cost.helpers import sent

    channel = comune.channels.get()
    channel.config = {**channel.config, "messaging_limit": 10}
    channel.save()
    now = timezone.now()
    sent(comune, "+393330000001", now - timedelta(hours=1), free=True)
    sent(comune, "+393330000002", now - timedelta(hours=1))
    Delivery.objects.create(
        organization=comune, channel=channel, recipient="+393330000003", status="sending"
    )  # in flight: the provider may have counted it already
    assert cost.business_recipients_24h(channel) == 2
    assert cost.tier_remaining(channel) == 8
