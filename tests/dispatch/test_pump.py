"""The dispatcher in this process against a real sandbox over HTTP: what each citizen got."""

import asyncio
import time
from collections import Counter
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from banditore.broadcasts import audience
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.models import Channel
from banditore.dispatch import dispatcher, queries
from banditore.dispatch.dispatcher import Dispatcher
from banditore.subscribers.models import Subscriber
from tests.factories import make_comune
from tests.sandbox.harness import running_sandbox

pytestmark = pytest.mark.django_db(transaction=True)


def setup(url: str, n: int, rate: int = 100) -> tuple[Broadcast, list[str]]:
    org = make_comune(base_url=url, rate=rate)
    numbers = [f"+39333400{i:04d}" for i in range(n)]
    Subscriber.objects.bulk_create(
        Subscriber(organization=org, phone=p, status="active") for p in numbers
    )
    broadcast = Broadcast.objects.create(
        organization=org, channel=org.channels.get(), text="Allerta meteo"
    )
    audience.start(broadcast)
    return broadcast, numbers


def pending(broadcast_id: int) -> int:
    return Delivery.objects.filter(
        broadcast_id=broadcast_id, status__in=["queued", "sending"]
    ).count()


async def copies(sb, numbers) -> Counter:
    counts = Counter()
    for number in numbers:
        counts[number] = len(await sb.received(number))
    return counts


async def until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not await sync_to_async(check)():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def with_dispatcher(scenario, name="d1"):
    stop = asyncio.Event()
    dispatcher = Dispatcher(name)
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        return await scenario(dispatcher)
    finally:
        stop.set()
        await task


async def drain_all(timeout: float = 20, what: str = "the drain"):
    """Run a dispatcher until no delivery is queued or in flight."""

    def done():
        return not Delivery.objects.filter(status__in=["queued", "sending"]).exists()

    await with_dispatcher(lambda _d: until(done, timeout, what))


def test_a_broadcast_reaches_everyone_once_and_each_attempt_is_a_send():
    async def scenario():
        async with running_sandbox() as sb:
            broadcast, numbers = await sync_to_async(setup)(sb.url, 40)

            async def drain(_):
                await until(lambda: pending(broadcast.pk) == 0, 30, "the drain")

            await with_dispatcher(drain)
            assert set((await copies(sb, numbers)).values()) == {1}
            rows = await sync_to_async(list)(Delivery.objects.values_list("status", "attempts"))
            assert set(rows) == {("sent", 1)}
            b = await sync_to_async(Broadcast.objects.get)(pk=broadcast.pk)
            assert b.status == "sent"

    asyncio.run(scenario())


def test_a_provider_outage_opens_the_breaker_instead_of_burning_every_attempt():
    async def scenario():
        async with running_sandbox() as sb:
            broadcast, numbers = await sync_to_async(setup)(sb.url, 60, rate=20)

            async def outage(_):
                await until(
                    lambda: Delivery.objects.filter(status="sent").count() >= 10, 20, "sends"
                )
                await sb.control("POST", "faults", {"down_seconds": 4})
                await until(lambda: pending(broadcast.pk) == 0, 60, "the drain after the outage")

            await with_dispatcher(outage)
            assert set((await copies(sb, numbers)).values()) == {1}
            attempts = await sync_to_async(list)(
                Delivery.objects.values_list("attempts", flat=True)
            )
            failed_sends = sum(attempts) - len(attempts)
            # A 4 s outage at 20 msg/s without a breaker fails ~80 sends; with it, the few
            # that found it down, plus one probe per cool-down.
            assert 1 <= failed_sends <= 15, failed_sends
            assert not await sync_to_async(Delivery.objects.filter(status="failed").exists)()

    asyncio.run(scenario())


def test_a_pump_that_lost_its_lease_stops_and_leaves_the_new_owners_rows_alone():
    async def scenario():
        async with running_sandbox() as sb:
            broadcast, numbers = await sync_to_async(setup)(sb.url, 200, rate=50)
            channel_id = broadcast.channel_id

            async def takeover(dispatcher):
                await until(lambda: Delivery.objects.filter(status="sent").exists(), 20, "sends")

                # Another worker takes the lease over (as after a stall past the lease).
                def steal():
                    Channel.objects.filter(pk=channel_id).update(lease_expires_at=None)
                    return queries.acquire_lease(channel_id, "thief", 60)

                epoch = await sync_to_async(steal)()
                await until(lambda: not dispatcher.pumps, 10, "the old pump to stop")
                before = await copies(sb, numbers)
                await asyncio.sleep(1.0)
                assert await copies(sb, numbers) == before, "the old owner kept sending"
                return epoch

            epoch = await with_dispatcher(takeover)
            # What it had claimed is the new owner's to reap and send: nothing was written
            # under the new epoch by the old owner, and nobody got a second copy.
            fences = await sync_to_async(set)(
                Delivery.objects.filter(status="sending").values_list("fence", flat=True)
            )
            assert epoch not in fences
            assert max((await copies(sb, numbers)).values()) == 1

    asyncio.run(scenario())


def test_a_setting_that_cant_work_pauses_its_channel_with_the_reason():
    async def scenario():
        async with running_sandbox() as sb:
            broadcast, numbers = await sync_to_async(setup)(sb.url, 3)

            def break_token():
                channel = Channel.objects.get(pk=broadcast.channel_id)
                config = {**channel.config, "access_token": "token-pasted-with-newline\n"}
                Channel.objects.filter(pk=channel.pk).update(config=config)

            await sync_to_async(break_token)()

            async def wait_pause(_):
                await until(
                    lambda: Channel.objects.get(pk=broadcast.channel_id).status == "paused",
                    10,
                    "the pause",
                )

            await with_dispatcher(wait_pause)
            channel = await sync_to_async(Channel.objects.get)(pk=broadcast.channel_id)
            assert "access_token" in channel.paused_reason
            assert await sync_to_async(Delivery.objects.filter(status="queued").count)() == 3
            assert sum((await copies(sb, numbers)).values()) == 0

    asyncio.run(scenario())


def test_sent_at_is_when_the_provider_answered_not_when_it_was_written_down(monkeypatch):
    # A busy database writes outcomes back late; the time to first message and the stats
    # must still say when the message left.
    real, written = dispatcher.write_outcomes, []

    def late_write(taken):
        time.sleep(0.8)
        written.append(timezone.now())
        return real(taken)

    monkeypatch.setattr(dispatcher, "write_outcomes", late_write)

    async def scenario():
        async with running_sandbox() as sb:
            broadcast, numbers = await sync_to_async(setup)(sb.url, 3)
            await drain_all()
            return broadcast

    broadcast = asyncio.run(scenario())
    rows = Delivery.objects.filter(broadcast=broadcast)
    assert [d.status for d in rows] == ["sent"] * 3
    for delivery in rows:
        assert delivery.sent_at < written[0] - timedelta(seconds=0.5)
