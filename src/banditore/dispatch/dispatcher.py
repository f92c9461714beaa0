"""The dispatcher: drains the Delivery outbox to the provider at each channel's full rate.

One asyncio loop per process. It leases channels (one dispatcher per channel, across all
machines), and for each leased channel runs a pump: claim a small batch in priority order,
pace each send with the channel's limiter, POST concurrently over one shared aiohttp
session, and write outcomes back in bulk. Database work runs on one dedicated thread, so
Django's per-thread connection stays put and the event loop never blocks on SQL.
"""

import asyncio
import contextlib
import logging
import random
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import aiohttp
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery, Priority
from banditore.channels.models import Channel
from banditore.channels.whatsapp.client import (
    SendResult,
    TemplateBody,
    WhatsAppClient,
    text_payload,
)
from banditore.channels.whatsapp.errors import Action
from banditore.dispatch import queries
from banditore.dispatch.limiter import Pacer
from banditore.dispatch.outcomes import OPTED_OUT, mark_unreachable, opt_out, pause_channel

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
MAX_BACKOFF = 300.0
# How much sending one claim covers. Small enough that an emergency queued now is claimed
# within half a second even while a big newsletter drains.
CLAIM_SECONDS = 0.25
# Outcomes are written back in bulk this often: fewer, larger transactions.
FLUSH_SECONDS = 0.1
# An idle channel's lease is released after this many seconds.
IDLE_RELEASE = 30.0


def run(coro):
    """Run the worker's event loop, on uvloop where it exists (less CPU per request)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0**attempts) * random.uniform(0.8, 1.2)


class Database:
    """Runs ORM/SQL calls on one thread owned by the dispatcher."""

    def __init__(self):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatch-db")

    async def __call__(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def close(self):
        self.executor.submit(close_old_connections).result()
        self.executor.shutdown(wait=True)


class ChannelPump:
    """Drains one leased channel."""

    def __init__(self, dispatcher: "Dispatcher", channel: Channel):
        self.d = dispatcher
        self.channel = channel
        # A burst of 1/20 s lets the pacer make up for the event loop's late wake-ups
        # (without it every late sleep is lost for good) while no one-second window ever
        # holds more than 105% of the cap.
        self.pacer = Pacer(channel.rate_per_second, burst=max(1, channel.rate_per_second // 20))
        self.config = channel.whatsapp
        self.client = WhatsAppClient(dispatcher.session, self.config)
        self.batch = max(10, min(500, int(channel.rate_per_second * CLAIM_SECONDS)))
        self.cursors = {p: 0 for p in Priority.values}
        self.inflight: set[asyncio.Task] = set()
        self.results: list[tuple[queries.Claimed, SendResult]] = []
        self.stopped = False
        self.bodies: dict[int, TemplateBody] = {}

    async def run(self) -> None:
        # The next batch is claimed while this one is being sent, so sending never waits
        # for the database; one batch ahead at most, so an emergency waits little.
        ahead: asyncio.Queue[list[queries.Claimed]] = asyncio.Queue(maxsize=1)
        feeder = asyncio.create_task(self.feed(ahead))
        flusher = asyncio.create_task(self.flush_loop())
        unsent: list[queries.Claimed] = []
        try:
            while not self.stopped:
                try:
                    claimed = await asyncio.wait_for(ahead.get(), timeout=0.2)
                except TimeoutError:
                    if feeder.done():
                        break  # idle long enough, or the feeder failed: stop here
                    continue
                for i, delivery in enumerate(claimed):
                    if self.stopped:
                        unsent = claimed[i:]
                        break
                    await self.pacer.wait()
                    await self.d.slots.acquire()
                    task = asyncio.create_task(self.send(delivery))
                    self.inflight.add(task)
                    task.add_done_callback(self.inflight.discard)
        finally:
            self.stopped = True
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder
            while not ahead.empty():
                unsent += ahead.get_nowait()
            if unsent:
                await self.d.db(queries.unclaim, [d.id for d in unsent])
            if self.inflight:
                await asyncio.gather(*self.inflight, return_exceptions=True)
            flusher.cancel()
            await self.flush()
            if feeder.done() and not feeder.cancelled() and feeder.exception():
                raise feeder.exception()

    async def feed(self, ahead: asyncio.Queue) -> None:
        """Claim batches ahead of the sender; end after IDLE_RELEASE seconds without work."""
        loop = asyncio.get_running_loop()
        idle_since = None
        while not self.stopped:
            claimed = await self.d.db(self.claim)
            if claimed:
                idle_since = None
                await self.d.db(self.load_texts, {c.broadcast_id for c in claimed})
                await ahead.put(claimed)
                continue
            idle_since = idle_since or loop.time()
            if not self.inflight and ahead.empty() and loop.time() - idle_since > IDLE_RELEASE:
                return  # give the lease back: another dispatcher may take it later
            await asyncio.sleep(0.05 if self.inflight else 0.2)

    def claim(self) -> list[queries.Claimed]:
        # Every priority level in turn, emergencies first; each level has its own cursor.
        claimed: list[queries.Claimed] = []
        for priority in sorted(self.cursors):
            want = self.batch - len(claimed)
            if want <= 0:
                break
            rows = queries.claim(
                self.channel.id, self.d.worker_id, priority, self.cursors[priority], want
            )
            if len(rows) < want:
                # End of this level: rescan from the start next time, which also finds
                # retries whose time has come (they sit behind the cursor).
                self.cursors[priority] = 0
            elif rows:
                self.cursors[priority] = rows[-1].id
            claimed += rows
        return claimed

    def load_texts(self, broadcast_ids: set[int | None]) -> None:
        missing = {i for i in broadcast_ids if i is not None and i not in self.bodies}
        for b in Broadcast.objects.filter(id__in=missing).select_related("organization"):
            self.bodies[b.id] = self.template_body(b.text)

    def template_body(self, text: str) -> TemplateBody:
        config = self.config
        return TemplateBody(
            config.template_name, config.template_language, [self.channel.organization.name, text]
        )

    def payload(self, d: queries.Claimed) -> dict | bytes:
        callback = f"delivery:{d.id}"
        if d.kind == Delivery.Kind.REPLY:
            return text_payload(d.recipient, d.text, callback=callback)
        if d.kind == Delivery.Kind.NOTICE:
            return self.template_body(d.text).render(d.recipient, callback)
        return self.bodies[d.broadcast_id].render(d.recipient, callback)

    async def send(self, d: queries.Claimed) -> None:
        try:
            result = await self.client.send(self.payload(d))
        finally:
            self.d.slots.release()
        if result.error is not None:
            verdict = result.error.verdict
            if verdict.throttle_channel:
                self.pacer.hold(verdict.retry_after or 1.0)
            if verdict.action == Action.STOP_CHANNEL:
                self.stopped = True
        self.results.append((d, result))

    async def flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()

    async def flush(self) -> None:
        if not self.results:
            return
        results, self.results = self.results, []
        await self.d.db(self.write, results)

    def write(self, results: list[tuple[queries.Claimed, SendResult]]) -> None:
        now = timezone.now()
        sent, retry, failed, unreachable, opted_out = [], [], [], [], []
        stop_reason = ""
        for d, result in results:
            error = result.error
            if error is None:
                sent.append([result.wamid, now, d.id])
                continue
            verdict = error.verdict
            row = [error.code, error.title]
            if verdict.action == Action.STOP_CHANNEL:
                # Not this message's fault: it waits, unspent, until the channel resumes.
                retry.append([now, *row, d.id])
                stop_reason = f"({error.code}) {error.title}"
            elif verdict.action == Action.RETRY and d.attempts < MAX_ATTEMPTS:
                delay = verdict.retry_after or backoff(d.attempts)
                retry.append([now + timedelta(seconds=delay), *row, d.id])
            else:
                failed.append([now, *row, d.id])
                if error.code == OPTED_OUT:
                    opted_out.append(d.id)
                elif verdict.action == Action.RECIPIENT_PERMANENT:
                    unreachable.append(d.id)
        queries.write_outcomes(sent, retry, failed)
        if unreachable:
            mark_unreachable(unreachable)
        if opted_out:
            opt_out(opted_out, self.channel)
        if stop_reason:
            log.error("channel %s paused: %s", self.channel.id, stop_reason)
            pause_channel(self.channel.id, stop_reason)
        queries.finish_broadcasts({d.broadcast_id for d, _ in results if d.broadcast_id}, now)


class Dispatcher:
    def __init__(self, worker_id: str | None = None, concurrency: int = 512):
        self.worker_id = worker_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.concurrency = concurrency
        self.db = Database()
        self.pumps: dict[int, tuple[ChannelPump, asyncio.Task]] = {}
        self.session: aiohttp.ClientSession | None = None
        self.slots: asyncio.Semaphore | None = None

    async def run(self, stop: asyncio.Event) -> None:
        self.slots = asyncio.Semaphore(self.concurrency)
        connector = aiohttp.TCPConnector(limit=self.concurrency, ttl_dns_cache=300)
        async with aiohttp.ClientSession(connector=connector) as self.session:
            try:
                while not stop.is_set():
                    try:
                        await self.tend_leases()
                    except Exception:
                        # A database hiccup must not end the process: try again shortly.
                        log.exception("dispatcher: tending leases failed")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=0.5)
            finally:
                await self.stop_all()
        self.db.close()

    async def tend_leases(self) -> None:
        """Renew our leases, take free channels that have work, drop what we lost or paused."""
        for channel_id, (pump, task) in list(self.pumps.items()):
            renewed = await self.db(
                queries.take_lease, channel_id, self.worker_id, settings.DISPATCH_LEASE_SECONDS
            )
            if not renewed or task.done():
                pump.stopped = True
                await asyncio.gather(task, return_exceptions=True)
                if not task.cancelled() and task.exception() is not None:
                    log.error("channel %s pump crashed", channel_id, exc_info=task.exception())
                del self.pumps[channel_id]
                if renewed:
                    await self.db(queries.release_lease, channel_id, self.worker_id)
        for channel_id, _owner in await self.db(queries.channels_with_work):
            if channel_id in self.pumps:
                continue
            if await self.db(
                queries.take_lease, channel_id, self.worker_id, settings.DISPATCH_LEASE_SECONDS
            ):
                await self.start_pump(channel_id)

    async def start_pump(self, channel_id: int) -> None:
        orphans = await self.db(queries.reclaim_orphans, channel_id)
        if orphans:
            log.warning(
                "channel %s: %d deliveries of a dead dispatcher requeued", channel_id, orphans
            )
        channel = await self.db(self.load_channel, channel_id)
        pump = ChannelPump(self, channel)
        self.pumps[channel_id] = (pump, asyncio.create_task(pump.run()))
        log.info("channel %s leased by %s", channel_id, self.worker_id)

    @staticmethod
    def load_channel(channel_id: int) -> Channel:
        return Channel.objects.select_related("organization").get(pk=channel_id)

    async def stop_all(self) -> None:
        for pump, _ in self.pumps.values():
            pump.stopped = True
        await asyncio.gather(*(t for _, t in self.pumps.values()), return_exceptions=True)
        for channel_id in list(self.pumps):
            await self.db(queries.release_lease, channel_id, self.worker_id)
        self.pumps.clear()
