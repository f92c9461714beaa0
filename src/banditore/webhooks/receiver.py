"""The webhook endpoint (`banditore receive`): asynchronous, at thousands of POSTs per second.

Meta posts one status per request, three per message sent, so what counts is the cost per
POST. Here a request costs its signature check and a parse on the event loop; the body
then joins a batch that one database thread inserts in one statement every few
milliseconds, and the 200 goes out only once that batch has committed: nothing
acknowledged is ever lost. A database error answers 503, so the provider retries.
"""

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from django.conf import settings
from django.db import close_old_connections, connections
from pydantic import ValidationError

from banditore.channels.models import Channel
from banditore.core.db import reconnecting
from banditore.webhooks import intake
from banditore.webhooks.routing import kind_of
from banditore.webhooks.store import store

log = logging.getLogger("banditore.webhooks")

# How long a body waits for company before its batch is written, and the largest batch.
BATCH_WINDOW = 0.004
BATCH_MAX = 500
# Channel settings are read again this often (an operator may change a secret).
CHANNELS_TTL = 5.0


class Receiver:
    def __init__(self):
        # One thread, one database connection: batches are written one after another.
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-store")
        self.channels: dict[int, tuple] = {}
        self.loaded_at = -CHANNELS_TTL
        self.loading: asyncio.Future | None = None
        self.queue: list[tuple] = []
        self.wake = asyncio.Event()

    # -- Channels, cached: a lookup per POST would cost more than the rest of it.

    def _load(self) -> dict[int, tuple]:
        close_old_connections()
        return reconnecting(self._read_channels)

    def _read_channels(self) -> dict[int, tuple]:
        found = {}
        for channel in Channel.objects.all():
            try:
                kind = kind_of(channel)
                found[channel.pk] = (channel.kind, kind, kind.config.model_validate(channel.config))
            except (LookupError, ValidationError):
                found[channel.pk] = (channel.kind, None, None)
        return found

    async def channel(self, channel_id: int):
        age = time.monotonic() - self.loaded_at
        if age > CHANNELS_TTL or (channel_id not in self.channels and age > 0.5):
            if self.loading is None:
                # Every request arriving meanwhile waits for this one reload.
                loop = asyncio.get_running_loop()
                self.loading = loop.run_in_executor(self.db, self._load)
                try:
                    self.channels = await self.loading
                    self.loaded_at = time.monotonic()
                finally:
                    self.loading = None
            else:
                return (await asyncio.shield(self.loading)).get(channel_id)
        return self.channels.get(channel_id)

    # -- Requests.

    async def handle(self, request: web.Request) -> web.Response:
        try:
            channel_id = int(request.match_info["channel_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        try:
            found = await self.channel(channel_id)
        except Exception:
            # The database is away: the provider retries a 503, and nothing was taken in.
            log.exception("webhook receiver can't read the channels")
            return _plain(intake.Answer(503, "try again"))
        if found is None or found[0] != request.match_info["kind"]:
            return _plain(intake.Answer(404, "not found"))
        _, kind, config = found
        if kind is None:
            return _plain(intake.Answer(503, "channel misconfigured"))
        if request.method == "GET":
            return _plain(intake.handshake(kind, config, request.query))
        refused = intake.check_length(
            request.headers.get("Transfer-Encoding"),
            request.headers.get("Content-Length"),
            settings.WEBHOOK_MAX_BYTES,
        )
        if refused:
            return _plain(refused)
        body = await request.read()
        answer = intake.accept(kind, config, channel_id, body, request.headers)
        if answer.event is None:
            return _plain(answer)
        done = asyncio.get_running_loop().create_future()
        self.queue.append((answer.event, done))
        self.wake.set()
        try:
            await done
        except Exception:
            return _plain(intake.Answer(503, "not stored, try again"))
        return _plain(answer)

    # -- Batches.

    async def flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.wake.wait()
            await asyncio.sleep(BATCH_WINDOW)
            batch, self.queue = self.queue[:BATCH_MAX], self.queue[BATCH_MAX:]
            if not self.queue:
                self.wake.clear()
            if not batch:
                continue
            try:
                await loop.run_in_executor(self.db, self._store, [e for e, _ in batch])
            except Exception as exc:
                log.exception("storing %d webhook bodies failed", len(batch))
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    def _store(self, events) -> None:
        reconnecting(store, events)


def _plain(answer: intake.Answer) -> web.Response:
    return web.Response(text=answer.text, status=answer.status, content_type="text/plain")


def application() -> web.Application:
    receiver = Receiver()
    app = web.Application(client_max_size=settings.WEBHOOK_MAX_BYTES)
    path = r"/webhooks/{kind}/{channel_id:\d+}"
    app.router.add_route("GET", path, receiver.handle)
    app.router.add_route("POST", path, receiver.handle)

    async def flusher(app):
        task = asyncio.create_task(receiver.flush_forever())
        yield
        task.cancel()
        # Its own connection, closed on the way out: PostgreSQL can't drop or lock a
        # database a forgotten session still holds (the tests' in-process receiver).
        await asyncio.get_running_loop().run_in_executor(receiver.db, connections.close_all)
        receiver.db.shutdown(wait=True)

    app.cleanup_ctx.append(flusher)
    return app
