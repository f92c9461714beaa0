"""The dispatcher: drains the Delivery outbox to the provider at each channel's full rate.

One asyncio loop per process. It leases channels (one dispatcher per channel, across all
machines) and runs a pump for each: claim a small batch in lane order, pace each send with
the channel's limiter, POST concurrently over one shared aiohttp session. Outcomes are
written back in bulk, every pump's in one transaction per tick (`write_back`): fifty slow
channels cost the database ten write-backs a second, not five hundred. It knows no channel
kind: a kind's Transport renders and sends.

Safety under faults:
- Every lease acquisition has a new epoch (the fence), written into the rows it claims and
  named by every write-back. A pump sends only while its own monotonic clock says its last
  renewal is still live, so an owner that stalls past its lease and wakes up sends nothing
  more and touches no row the new owner holds.
- Leases are renewed and the reaper runs on their own database thread, never queued behind a
  slow flush, and never blocked by a pump that is stopping.
- A database error closes that thread's connection, so the next call reconnects: a database
  restart costs seconds, not the service. A failed write-back is kept and retried.
"""

import asyncio
import collections
import contextlib
import contextvars
import logging
import math
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from banditore.broadcasts.models import Priority
from banditore.channels import registry
from banditore.channels.base import STOP, Action, Outgoing, SendError, SendResult
from banditore.channels.models import Channel
from banditore.core.db import reconnecting
from banditore.dispatch import outcomes, queries
from banditore.dispatch.breaker import Breaker
from banditore.dispatch.limiter import Pacer, RecipientSpacing
from banditore.dispatch.tier import TierGate

log = logging.getLogger(__name__)

# How much sending one claim covers. At most two claims of newsletter are ever ahead of an
# emergency queued now (the batch being sent and the one claimed next), so this bounds its
# wait: measured during a 100,000 drain at 1,000 msg/s, 0.25 s gave a first alert message
# after 1.2 s, 0.1 s after 0.45 s. Ten claims a second cost little; an uncapped channel
# still claims 500 rows at a time.
CLAIM_SECONDS = 0.1
# Outcomes are written back in bulk this often: fewer, larger transactions.
FLUSH_SECONDS = 0.1
# An idle channel's lease is released after this many seconds.
IDLE_RELEASE = 30.0
# How often the dispatcher looks for channels with new work (an emergency on an idle
# channel waits at most this long to be noticed), and reaps orphaned rows.
TEND_SECONDS = 0.25
REAP_SECONDS = 1.0
# Spreading channels over workers: a worker takes at most its share of the channels with
# work, ceil(channels / live workers), and hands one back per tend while it holds more than
# its share and more than SLACK above the live worker holding fewest. One more than another
# is as even as it gets (and moving a pump costs the channel a moment of sending).
SLACK = 1
# A channel with work left free this long by every other worker is taken whatever the share:
# the count of live workers is only heartbeats, and a worker that heartbeats without
# dispatching (--no-dispatch), or one just killed whose beat is still fresh, must not leave
# a channel unserved.
STARVED_SECONDS = 2.0
# After taking a channel nobody else would, hand none back for this long: the heartbeats
# then count a worker that does not take channels, and a hand-back would only come back.
HANDBACK_PAUSE = 30.0
# A pump stops sending this long before its lease could lapse in the database, so clock
# jitter between machines never lets two owners send at once.
LEASE_MARGIN = 0.5
# A send that raised (a bug, a setting the provider's library refuses): never retried blindly.
INTERNAL_ERROR = -3


def run(coro):
    """Run the worker's event loop, on uvloop where it exists (less CPU per request)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


class Fenced(Exception):
    """A send given up at the last moment: the lease lapsed while it waited for a connection."""


# The pump whose send this task is making: read by the connection hook below.
sending_for: contextvars.ContextVar["ChannelPump"] = contextvars.ContextVar("sending_for")


async def _last_look(_session, _ctx, _params) -> None:
    """Runs once the request has its connection, right before its first byte is written.
    A process stalled between the pump's check and this point (a paused VM) wakes up here,
    and must not send what the new owner of the channel sends too."""
    pump = sending_for.get(None)
    if pump is not None and not pump.live():
        raise Fenced


def fenced_trace() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_connection_reuseconn.append(_last_look)
    trace.on_connection_create_end.append(_last_look)
    return trace


class Database:
    """Runs ORM/SQL calls on one thread of its own (Django's connections are per thread)."""

    def __init__(self, name: str):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.guarded = None  # the raw connection the idle-transaction limit was set on

    async def __call__(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, reconnecting, self.guard, fn, *args)

    def guard(self, fn, *args):
        """PostgreSQL: a transaction of this dispatcher left idle (the process stalled inside
        it) is ended by the server after two leases, so its row locks never hold up the
        worker that took the channel over. Ours last milliseconds; the fence keeps a stalled
        owner from sending once it wakes, whatever became of its transaction."""
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            if self.guarded is not connection.connection:
                limit = int(max(5.0, 2 * settings.DISPATCH_LEASE_SECONDS) * 1000)
                with connection.cursor() as cur:
                    cur.execute(f"SET idle_in_transaction_session_timeout = {limit}")
                self.guarded = connection.connection
        return fn(*args)

    def close(self):
        # A function, not connection.close: the proxy must resolve in the executor's thread.
        self.executor.submit(lambda: connection.close()).result()
        self.executor.shutdown(wait=True)


class Quiet:
    """Logs a recurring failure once, then once a minute, instead of twice a second."""

    def __init__(self, what: str):
        self.what = what
        self.since: float | None = None
        self.last = 0.0

    def failed(self) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = self.last = now
            log.exception("%s failed", self.what)
        elif now - self.last > 60:
            self.last = now
            log.error("%s still failing after %.0f s", self.what, now - self.since)

    def ok(self) -> None:
        if self.since is not None:
            log.warning("%s works again after %.0f s", self.what, time.monotonic() - self.since)
        self.since = None


# An outcome and when the provider gave it.
Result = tuple[Outgoing, SendResult, datetime]


class ChannelPump:
    """Drains one leased channel under one epoch."""

    def __init__(self, dispatcher: "Dispatcher", channel: Channel, epoch: int, deadline: float):
        self.d = dispatcher
        self.channel = channel
        self.epoch = epoch
        self.deadline = deadline
        kind = registry.of(channel)
        self.transport = kind.transport(
            channel, dispatcher.session, timeout=settings.DISPATCH_SEND_TIMEOUT
        )
        rate = max(1, channel.rate_per_second)
        # A burst of 1/20 s lets the pacer make up for the event loop's late wake-ups
        # (without it every late sleep is lost for good) while no one-second window ever
        # holds more than 105% of the cap.
        self.pacer = Pacer(rate, burst=max(1, rate // 20))
        self.spacing = RecipientSpacing(kind.recipient_interval)
        self.breaker = Breaker()
        self.batch = max(10, min(500, int(rate * CLAIM_SECONDS)))
        # Sends completed, and when the last claim looked: the rate the pump really reaches.
        self.done = 0
        self.rate_mark = (time.monotonic(), 0)
        self.batch_size = self.batch
        self.cursors = {p: 0 for p in Priority.values}
        self.tier = TierGate(channel.pk)
        self.inflight: set[asyncio.Task] = set()
        # Each outcome with when the provider answered: a row's sent_at is that moment, not
        # the write-back's, which may come a few tenths later.
        self.results: list[Result] = []
        # Claimed, never sent: handed back to the queue when the pump stops.
        self.unsent: list[Outgoing] = []
        self.stopping = False
        self.prepared: set[int] = set()
        # The last claim found nothing left: only then may a write-back finish a broadcast.
        # Checking at every write-back read the outbox's index of a big broadcast ten times
        # a second through its whole drain, for an answer that is "not yet" until the end.
        self.drained = False

    def live(self) -> bool:
        return not self.stopping and time.monotonic() < self.deadline

    async def run(self) -> None:
        # The next batch is claimed while this one is being sent, so sending never waits
        # for the database; one batch ahead at most, so an emergency waits little.
        ahead: asyncio.Queue[list[Outgoing]] = asyncio.Queue(maxsize=1)
        feeder = asyncio.create_task(self.feed(ahead))
        try:
            while self.live():
                try:
                    claimed = await asyncio.wait_for(ahead.get(), timeout=0.2)
                except TimeoutError:
                    if feeder.done():
                        break  # idle long enough, or the feeder failed: stop here
                    continue
                ahead.task_done()  # the feeder may claim the next batch now
                for i, delivery in enumerate(claimed):
                    probe = await self.admit()
                    if probe is None:
                        self.unsent += claimed[i:]
                        break
                    task = asyncio.create_task(self.send(delivery, probe))
                    self.inflight.add(task)
                    task.add_done_callback(self.inflight.discard)
        finally:
            self.stopping = True
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder
            while not ahead.empty():
                self.unsent += ahead.get_nowait()
            if self.inflight:
                await asyncio.gather(*self.inflight, return_exceptions=True)
            await self.settle()
        if feeder.done() and not feeder.cancelled() and feeder.exception():
            raise feeder.exception()

    async def admit(self) -> bool | None:
        """Wait until one more send may go: breaker, pacer, a free connection slot, a live
        lease. True if it is the breaker's probe; None if the pump must stop instead."""
        while True:
            wait, probe = self.breaker.allow()
            if not wait:
                break
            await asyncio.sleep(min(wait, 0.25))
            if not self.live():
                return None
        await self.pacer.wait()
        await self.d.slots.acquire()
        if not self.live():  # checked last: the lease may lapse while we waited
            self.d.slots.release()
            if probe:
                self.breaker.probing = False
            return None
        return probe

    async def feed(self, ahead: asyncio.Queue) -> None:
        """Claim batches ahead of the sender; end after IDLE_RELEASE seconds without work."""
        loop = asyncio.get_running_loop()
        idle_since = None
        quiet = Quiet(f"channel {self.channel.pk}: claim")
        while self.live():
            # Claim only once the batch ahead has been taken: a batch claimed and held until
            # there is room would put a third batch of newsletter before a new emergency.
            await ahead.join()
            try:
                claimed, more = await self.d.db(self.claim)
                quiet.ok()
            except (OperationalError, InterfaceError):
                quiet.failed()
                await asyncio.sleep(0.5)
                continue
            if claimed:
                idle_since = None
                self.drained = False
                await ahead.put(claimed)
                continue
            if more:
                continue  # a batch of skipped rows: look further at once
            if not self.drained:
                # Set first: a write-back that reads it afterwards checks its broadcasts
                # itself, and one already queued on the database thread runs before this.
                self.drained = True
                try:
                    await self.d.db(queries.finish_broadcasts, set(self.prepared), timezone.now())
                except Exception:
                    self.drained = False  # checked again on the next empty claim
                    quiet.failed()
            idle_since = idle_since or loop.time()
            if not self.inflight and ahead.empty() and loop.time() - idle_since > IDLE_RELEASE:
                return  # give the lease back: another dispatcher may take it later
            await asyncio.sleep(0.05 if self.inflight else 0.2)

    def batch_now(self) -> int:
        """A claim's size: CLAIM_SECONDS of sending at the rate the pump really reaches, at
        most the cap's. On a machine too busy to reach the cap, a batch sized for the cap
        would keep an emergency waiting behind seconds of newsletter."""
        now, done = time.monotonic(), self.done
        then, done_then = self.rate_mark
        if now - then < 1.0:
            return self.batch_size
        self.rate_mark = (now, done)
        reached = (done - done_then) / (now - then)
        # Idle or starting (nothing sent yet): the cap's size, so a drain starts at full speed.
        size = self.batch if reached < 1 else int(reached * CLAIM_SECONDS)
        self.batch_size = max(10, min(self.batch, size))
        return self.batch_size

    def claim(self) -> tuple[list[Outgoing], bool]:
        """Every lane in turn, emergencies first, each after its own cursor."""
        claimed: list[Outgoing] = []
        more = False
        places = self.tier.places()
        batch = self.batch_now()
        for priority in sorted(self.cursors):
            want = batch - len(claimed)
            if want <= 0:
                break
            result = queries.claim(
                self.channel.pk,
                self.d.worker_id,
                self.epoch,
                priority,
                self.cursors[priority],
                want,
                places,
            )
            # At the end of a lane, rescan from the start next time: that also finds
            # retries whose time has come (they sit behind the cursor).
            self.cursors[priority] = 0 if result.exhausted else result.last_id
            more = more or not result.exhausted
            claimed += result.rows
            if places is not None:
                self.tier.took(result.places_taken)
                places = self.tier.left
                if result.waiting:
                    places = self.wait_for_tier(priority, list(result.waiting))
        new = {c.broadcast_id for c in claimed if c.broadcast_id} - self.prepared
        if new:
            self.transport.prepare(sorted(new))
            self.prepared |= new
        return claimed, more

    def wait_for_tier(self, priority: int, ids: list[int]) -> int | None:
        """Rows the messaging limit had no place for: due again when the oldest place frees,
        unless a fresh count finds places (then the lane is read again from them)."""
        until = self.tier.full_until()
        if until is None:
            self.cursors[priority] = min(ids) - 1
        else:
            queries.wait_for_tier(ids, until)
        return self.tier.left

    async def send(self, d: Outgoing, probe: bool) -> None:
        if not self.live():
            # The task was created before the process stalled and runs only now, after the
            # lease may have passed to another owner: it must not go out.
            self.d.slots.release()
            if probe:
                self.breaker.probing = False
            self.unsent.append(d)
            return
        sending_for.set(self)
        try:
            if self.spacing.interval:  # most kinds have none: no coroutine per send
                await self.spacing.wait(d.recipient)
            try:
                result = await self.transport.send(d, self.transport.render(d))
            except Fenced:
                self.unsent.append(d)  # never on the wire: handed back like a claim unsent
                if probe:
                    self.breaker.probing = False
                return
            except Exception as exc:
                # A bug or a setting the HTTP library refuses: recorded, and the channel
                # paused with the reason, rather than the delivery left in 'sending'.
                log.exception(
                    "channel %s: sending delivery %s raised",
                    self.channel.pk,
                    d.id,
                    extra={"channel_id": self.channel.pk, "delivery_id": d.id,
                           "broadcast_id": d.broadcast_id},
                )  # fmt: skip
                title = f"{type(exc).__name__}: {exc}"[:300]
                result = SendResult(error=SendError(INTERNAL_ERROR, title, STOP))
        finally:
            self.d.slots.release()
        error = result.error
        self.breaker.record(trouble=bool(error and error.verdict.provider_trouble), probe=probe)
        if error is not None:
            if error.verdict.throttle_channel:
                self.pacer.hold(error.verdict.retry_after or 1.0)
            if error.verdict.action == Action.STOP_CHANNEL:
                self.stopping = True
        self.results.append((d, result, timezone.now()))
        self.done += 1

    def rows(self, results: list[Result], now: datetime, into: "Outcomes") -> None:
        """This pump's outcomes as write-back rows, each fenced by its epoch."""
        follow = []
        for d, result, answered in results:
            if d.broadcast_id and self.drained:
                into.broadcasts.add(d.broadcast_id)
            error = result.error
            if error is None:
                note = result.note[:300]
                into.sent.append([result.provider_id or None, answered, note, d.id, self.epoch])
                continue
            row = [error.code, error.title[:300], d.id, self.epoch]
            if outcomes.window_closed_on_free_text(d.kind, d.free, error):
                into.as_template.append(row)
                continue
            when = outcomes.requeue_at(error, d.created_at, d.attempts + 1, now)
            if when is not None:
                into.retry.append([when, *row])
            else:
                into.failed.append([now, *row])
            if error.verdict.action != Action.RETRY:
                follow.append((d.id, error))
        if follow:
            into.follow.append((self.channel, follow))

    async def settle(self) -> None:
        """Hand back what was claimed but not sent, and write every outcome, however long
        the database takes to come back (until the worker itself stops)."""
        while True:
            try:
                if self.unsent:
                    await self.d.db(queries.unclaim, [u.id for u in self.unsent], self.epoch)
                    self.unsent = []
                if await self.d.write_back([self]) and not self.results:
                    break
            except Exception:
                self.d.write_quiet.failed()
            if self.d.closing and time.monotonic() > self.d.closing + 10:
                log.error(
                    "channel %s: %d outcomes and %d claims could not be written; the reaper "
                    "requeues them",
                    self.channel.pk,
                    len(self.results),
                    len(self.unsent),
                    extra={"channel_id": self.channel.pk},
                )
                return
            await asyncio.sleep(0.5)
        with contextlib.suppress(Exception):
            await self.d.control(
                queries.release_lease, self.channel.pk, self.d.worker_id, self.epoch
            )


@dataclass
class Outcomes:
    """The write-back rows of one or more pumps, for one transaction."""

    sent: list = field(default_factory=list)
    retry: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    as_template: list = field(default_factory=list)
    follow: list = field(default_factory=list)
    broadcasts: set = field(default_factory=set)


def write_outcomes(taken: list[tuple[ChannelPump, list[Result]]]) -> None:
    now = timezone.now()
    rows = Outcomes()
    for pump, results in taken:
        pump.rows(results, now, rows)
    with transaction.atomic():
        queries.write_outcomes(rows.sent, rows.retry, rows.failed, rows.as_template)
        for channel, errors in rows.follow:
            outcomes.follow_up(channel, errors)
        queries.finish_broadcasts(rows.broadcasts, now)


class Dispatcher:
    def __init__(self, worker_id: str | None = None, concurrency: int = 512):
        self.worker_id = worker_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.concurrency = concurrency
        # Claims and write-backs on one thread; leases and the reaper on another, so a slow
        # flush never delays a renewal.
        self.db = Database("dispatch-db")
        self.control = Database("dispatch-lease")
        self.lease_seconds = settings.DISPATCH_LEASE_SECONDS
        self.pumps: dict[int, tuple[ChannelPump, asyncio.Task]] = {}
        # One write-back at a time: a pump settling waits for the one that holds its
        # outcomes, so its lease is never released before they are written.
        self.writing = asyncio.Lock()
        self.write_quiet = Quiet("dispatcher: write-back")
        self.session: aiohttp.ClientSession | None = None
        self.slots: asyncio.Semaphore | None = None
        self.closing: float | None = None
        self.renewed_at = 0.0
        self.reaped_at = 0.0
        # Since when each channel with work has been seen free (monotonic), and until when
        # no pump is handed back.
        self.free_since: dict[int, float] = {}
        self.handback_paused_until = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        self.slots = asyncio.Semaphore(self.concurrency)
        connector = aiohttp.TCPConnector(limit=self.concurrency, ttl_dns_cache=300)
        quiet = Quiet("dispatcher: tending leases")
        async with aiohttp.ClientSession(
            connector=connector, trace_configs=[fenced_trace()]
        ) as self.session:
            writer = asyncio.create_task(self.write_loop(stop))
            try:
                while not stop.is_set():
                    try:
                        await self.tend()
                        quiet.ok()
                    except Exception:
                        # A database hiccup must not end the process: try again shortly.
                        quiet.failed()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=TEND_SECONDS)
            finally:
                await self.stop_all()
                # Not cancelled: a write-back cancelled while the database thread runs it
                # may or may not land, and its rows would be lost from memory either way.
                await writer
        self.db.close()
        self.control.close()

    async def tend(self) -> None:
        """Renew our leases, reap orphans, take free channels that have work."""
        self.forget_finished()
        now = time.monotonic()
        if now - self.renewed_at >= self.lease_seconds / 3:
            await self.renew()
        if now - self.reaped_at >= REAP_SECONDS:
            if reaped := await self.control(queries.reap):
                log.warning("%d deliveries of a lost lease requeued", reaped)
            self.reaped_at = now
        work, beating = await self.control(self.look)
        at = timezone.now()
        leased = {c: owner for c, owner, expires in work if owner and expires and expires >= at}
        held = collections.Counter(leased.values())
        # A live lease owner is a live dispatcher even before its first heartbeat (or
        # without any: a dispatcher run in-process), and this one counts itself.
        workers = max(beating, len(held.keys() | {self.worker_id}))
        share = math.ceil(len(work) / workers)
        mine = [c for c, _, _ in work if c in self.pumps and not self.pumps[c][0].stopping]
        free = [c for c, _, _ in work if c not in self.pumps and c not in leased]
        self.free_since = {c: self.free_since.get(c, now) for c in free}
        for channel_id in free:
            over = len(mine) >= share
            if over and now - self.free_since[channel_id] < STARVED_SECONDS:
                continue  # the other workers' share: theirs to take
            if time.monotonic() - self.renewed_at >= self.lease_seconds / 3:
                # Taking many channels takes round trips: under load, more than a lease, and
                # every pump taken so far would stop at its deadline.
                await self.renew()
            try:
                if await self.take(channel_id):
                    mine.append(channel_id)
                    if over:
                        self.handback_paused_until = now + HANDBACK_PAUSE
            except (OperationalError, InterfaceError):
                raise
            except Exception:
                # One broken channel never keeps the others from being served.
                log.exception(
                    "channel %s: could not start sending", channel_id,
                    extra={"channel_id": channel_id},
                )  # fmt: skip
        if len(mine) > share and now >= self.handback_paused_until:
            others = [n for owner, n in held.items() if owner != self.worker_id]
            # A live worker holding no channel with work holds none.
            fewest = 0 if workers > len(others) + 1 else min(others, default=len(mine))
            if len(mine) > fewest + SLACK:
                self.hand_back(mine[-1], share)

    async def write_loop(self, stop: asyncio.Event) -> None:
        """Every pump's outcomes every FLUSH_SECONDS (backing off while the database
        fails) until the dispatcher stops; each pump writes its last ones as it settles."""
        failures = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_SECONDS * 2 ** min(failures, 6))
            pumps = [pump for pump, _ in self.pumps.values()]
            failures = 0 if await self.write_back(pumps) else failures + 1

    async def write_back(self, pumps: list[ChannelPump]) -> bool:
        """Write these pumps' outcomes in one transaction; False if the database failed
        (they are kept, and written with the next: an outcome is never dropped)."""
        async with self.writing:
            taken = [(pump, pump.results) for pump in pumps if pump.results]
            if not taken:
                return True
            for pump, _ in taken:
                pump.results = []
            try:
                await self.db(write_outcomes, taken)
            except Exception:
                for pump, results in taken:
                    pump.results = results + pump.results
                self.write_quiet.failed()
                return False
        self.write_quiet.ok()
        return True

    async def renew(self) -> None:
        started = time.monotonic()
        renewed = await self.control(queries.renew_leases, self.worker_id, self.lease_seconds)
        self.renewed_at = started
        for channel_id, (pump, _task) in self.pumps.items():
            if renewed.get(channel_id) == pump.epoch:
                pump.deadline = started + self.lease_seconds - LEASE_MARGIN
            else:
                pump.stopping = True  # lost, paused or lapsed: it winds down by itself

    @staticmethod
    def look() -> tuple[list, int]:
        """The channels with work and their leases, and how many workers are alive."""
        return queries.channels_with_work(), queries.live_workers()

    def hand_back(self, channel_id: int, share: int) -> None:
        """Stop one pump cleanly, for a worker holding fewer to take the channel over: what
        is in flight finishes and is written back, what was claimed and not sent goes back
        to the queue, and only then is the lease released (ChannelPump.settle), so the next
        owner's new epoch never meets a row of ours still being sent."""
        self.pumps[channel_id][0].stopping = True
        log.info(
            "channel %s handed back by %s (share %s)", channel_id, self.worker_id, share,
            extra={"channel_id": channel_id},
        )  # fmt: skip

    async def take(self, channel_id: int) -> bool:
        started = time.monotonic()
        epoch = await self.control(
            queries.acquire_lease, channel_id, self.worker_id, self.lease_seconds
        )
        if epoch is None:
            return False
        # Rows the previous owner had in flight go back to the queue now, not in a second.
        if reaped := await self.control(queries.reap, channel_id):
            log.warning(
                "channel %s: %d deliveries of a lost lease requeued", channel_id, reaped,
                extra={"channel_id": channel_id},
            )  # fmt: skip
        # On the lease's thread: the other one may be busy with every other pump's claims.
        channel = await self.control(self.load_channel, channel_id)
        try:
            pump = ChannelPump(self, channel, epoch, started + self.lease_seconds - LEASE_MARGIN)
        except Exception as exc:
            # A setting the channel can't send with (the kind's config model refuses it).
            reason = f"configuration: {exc}"[:2000]
            await self.control(outcomes.pause_channel, channel_id, reason)
            await self.control(queries.release_lease, channel_id, self.worker_id, epoch)
            return False
        self.pumps[channel_id] = (pump, asyncio.create_task(pump.run()))
        log.info(
            "channel %s leased by %s (epoch %s)", channel_id, self.worker_id, epoch,
            extra={"channel_id": channel_id},
        )  # fmt: skip
        return True

    def forget_finished(self) -> None:
        for channel_id, (_pump, task) in list(self.pumps.items()):
            if not task.done():
                continue
            del self.pumps[channel_id]
            if not task.cancelled() and task.exception() is not None:
                log.error(
                    "channel %s pump crashed", channel_id, exc_info=task.exception(),
                    extra={"channel_id": channel_id},
                )  # fmt: skip

    @staticmethod
    def load_channel(channel_id: int) -> Channel:
        return Channel.objects.select_related("organization").get(pk=channel_id)

    async def stop_all(self) -> None:
        self.closing = time.monotonic()
        for pump, _ in self.pumps.values():
            pump.stopping = True
        await asyncio.gather(*(t for _, t in self.pumps.values()), return_exceptions=True)
        self.pumps.clear()
