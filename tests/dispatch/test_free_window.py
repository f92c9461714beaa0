"""A broadcast goes as free text to a citizen whose 24-hour window is open, as the template to
everyone else; free text the provider refuses for a closed window goes again as the template.

The dispatcher runs in this process against a real sandbox over HTTP; the last test runs the
whole service (sandbox, receiver, worker processes), because the provider reports a closed
window later, in a status webhook."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from banditore.broadcasts import audience
from banditore.broadcasts.direct import reply
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.subscribers.models import Subscriber
from tests import processes
from tests.dispatch.test_pump import pending, until, with_dispatcher
from tests.factories import make_comune
from tests.faults import add_subscribers, close_db, wired_sandbox
from tests.sandbox.harness import running_sandbox

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "Domani mercato in piazza"


def setup(url: str, numbers: list[str]) -> Broadcast:
    org = make_comune(base_url=url, rate=50)
    Subscriber.objects.bulk_create(
        Subscriber(organization=org, phone=p, status="active") for p in numbers
    )
    return Broadcast.objects.create(organization=org, channel=org.channels.get(), text=TEXT)


def wrote(number: str, ago: timedelta) -> None:
    Subscriber.objects.filter(phone=number).update(last_inbound_at=timezone.now() - ago)


def test_the_citizen_who_wrote_an_hour_ago_gets_free_text_the_others_the_template():
    numbers = ["+393334000001", "+393334000002", "+393334000003"]
    talker = numbers[1]

    async def scenario():
        async with running_sandbox() as sb:
            broadcast = await sync_to_async(setup)(sb.url, numbers)
            await sb.inbound(talker, "Grazie")  # the provider saw them write too
            await sync_to_async(wrote)(talker, timedelta(hours=1))
            await sync_to_async(audience.start)(broadcast)

            async def drain(_):
                await until(lambda: pending(broadcast.pk) == 0, 30, "the drain")

            await with_dispatcher(drain)
            got = {n: await sb.received(n) for n in numbers}
            assert [m["type"] for m in got[talker]] == ["text"]
            assert got[talker][0]["text"] == TEXT
            for n in set(numbers) - {talker}:
                assert [m["type"] for m in got[n]] == ["template"], n
            rows = await sync_to_async(dict)(
                Delivery.objects.values_list("recipient", "free").order_by("recipient")
            )
            assert rows == {n: n == talker for n in numbers}
            statuses = await sync_to_async(set)(Delivery.objects.values_list("status", flat=True))
            assert statuses == {"sent"}

    asyncio.run(scenario())


def test_a_window_that_closes_just_before_the_send_by_the_providers_word_gets_the_template():
    # Refused at once (the synchronous 131047): requeued as the template, never failed.
    number = "+393334000010"

    async def scenario():
        async with running_sandbox() as sb:
            broadcast = await sync_to_async(setup)(sb.url, [number])
            await sb.inbound(number, "Grazie")
            await sync_to_async(wrote)(number, timedelta(hours=2))
            await sb.control("POST", "faults", {"kind": "error", "code": 131047, "count": 1})
            await sync_to_async(audience.start)(broadcast)

            async def drain(_):
                await until(lambda: pending(broadcast.pk) == 0, 30, "the drain")

            await with_dispatcher(drain)
            assert [m["type"] for m in await sb.received(number)] == ["template"]
            d = await sync_to_async(Delivery.objects.get)()
            assert (d.status, d.free, d.window_closed, d.attempts) == ("sent", False, True, 2)
            assert d.error_code is None

    asyncio.run(scenario())


def test_free_text_the_provider_later_reports_outside_the_window_arrives_as_the_template(
    comune,
):
    # Our database says the citizen wrote 23 h 30 min ago (the window is open, beyond the
    # margin), but the provider never saw them write: it accepts the free text, then reports
    # 131047 in a failed status. The citizen gets the template, exactly once.
    number, *others = add_subscribers(comune, 3)
    Subscriber.objects.filter(phone=number).update(
        last_inbound_at=timezone.now() - timedelta(hours=23, minutes=30)
    )
    with wired_sandbox(comune, mps=20) as sandbox:
        close_db()
        with processes.worker():
            broadcast = Broadcast.objects.create(
                organization=comune, channel=comune.channels.get(), text=TEXT
            )
            audience.start(broadcast)
            close_db()

            def settled():
                d = broadcast.deliveries.get(recipient=number)
                return d.window_closed and d.status in ("sent", "delivered", "read")

            try:
                processes.wait_for(settled, 30, "the template after the provider's 131047")
            except AssertionError:
                d = broadcast.deliveries.filter(recipient=number).values().get()
                raise AssertionError(f"{d}, {sandbox.messages(number)}") from None
            processes.wait_for(
                lambda: not broadcast.deliveries.exclude(status__in=["delivered", "read"]),
                30,
                "every receipt",
            )
        mine = sandbox.messages(number)
        theirs = {n: sandbox.messages(n) for n in others}
    assert [m["type"] for m in mine] == ["text", "template"]
    assert mine[0]["status"] == "failed"
    assert mine[1]["status"] != "failed"
    assert all([m["type"] for m in got] == ["template"] for got in theirs.values())
    d = broadcast.deliveries.get(recipient=number)
    assert (d.free, d.window_closed, d.error_code) == (False, True, None)
    assert d.wamid == mine[1]["id"]


def test_a_reply_the_provider_asks_to_retry_goes_again_and_is_recorded_once():
    # A row the ORM wrote (a reply) comes back from the claim's raw RETURNING naive on SQLite;
    # the retry's time budget compared it with an aware now, and the write-back crashed.
    number = "+393334000020"

    async def scenario():
        async with running_sandbox() as sb:
            broadcast = await sync_to_async(setup)(sb.url, [number])
            await sb.control("POST", "faults", {"kind": "error", "code": 130429, "count": 1})
            await sync_to_async(reply)(broadcast.channel, number, "Ciao", None)

            def sent() -> bool:
                return Delivery.objects.filter(status="sent").exists()

            await with_dispatcher(lambda _d: until(sent, 30, "the retry"))
            row = await sync_to_async(Delivery.objects.get)()
            assert (row.status, row.attempts) == ("sent", 2)
            assert [m["text"] for m in await sb.received(number)] == ["Ciao"]

    asyncio.run(scenario())
