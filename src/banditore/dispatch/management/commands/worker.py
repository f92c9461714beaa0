"""`banditore worker`: the control-plane task worker and the sending dispatcher, together.

The tasks thread is supervised: restarted after a crash (a database restart kills it), and
if it keeps crashing the process exits non-zero, so systemd or the container runtime
restarts the whole worker instead of leaving a half-dead one running.
"""

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django_tasks_db.management.commands.db_worker import Worker

from banditore.broadcasts import audience, scheduling
from banditore.core import periodic
from banditore.core.db import reconnecting
from banditore.dispatch import dispatcher
from banditore.dispatch.dispatcher import Dispatcher, Quiet
from banditore.ops import heartbeat
from banditore.webhooks.tasks import schedule_due

log = logging.getLogger("banditore.worker")

# The tasks thread may crash and be restarted; crashing for WORKER_GIVE_UP_SECONDS without
# ever staying up this long means it can't recover here.
STABLE_SECONDS = 30.0


def _tick() -> None:
    schedule_due()
    periodic.run_due()
    scheduling.tick()
    heartbeat.beat()  # last: a worker whose ticks fail is not counted as ready


class TasksThread:
    """django-tasks-db's worker loop, restarted whenever it dies."""

    def __init__(self, worker_id: str):
        self.worker_id = worker_id
        self.worker: Worker | None = None
        self.running = True
        self.failed = threading.Event()
        self.thread = threading.Thread(target=self.supervise, name="tasks", daemon=True)

    def new_worker(self) -> Worker:
        return Worker(
            queue_names=["default"],
            interval=0.2,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )

    def supervise(self) -> None:
        crashing_since = None
        delay = 0.5
        while self.running:
            started = time.monotonic()
            self.worker = self.new_worker()
            try:
                self.worker.run()
                if not self.running:
                    return
                raise RuntimeError("the tasks loop returned")
            except Exception:
                log.exception("tasks thread crashed; restarting")
            finally:
                with contextlib.suppress(Exception):
                    connection.close()
            now = time.monotonic()
            if now - started > STABLE_SECONDS:
                crashing_since, delay = None, 0.5
            crashing_since = crashing_since or started
            if now - crashing_since > settings.WORKER_GIVE_UP_SECONDS:
                log.critical(
                    "tasks thread keeps crashing for %.0f s: giving up", now - crashing_since
                )
                self.failed.set()
                return
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def stop(self) -> None:
        self.running = False
        if self.worker is not None:
            self.worker.running = False
        self.thread.join(timeout=10)


RESUME_SECONDS = 0.25


class Command(BaseCommand):
    help = "Run the background worker: Django tasks plus the message dispatcher."

    def add_arguments(self, parser):
        parser.add_argument("--worker-id", default=None)
        parser.add_argument("--no-dispatch", action="store_true", help="Only run tasks.")

    def handle(self, *args, worker_id, no_dispatch, **options):
        worker_id = worker_id or get_random_string(12)
        tasks = TasksThread(f"tasks-{worker_id}")
        tasks.thread.start()
        self.stdout.write(_("Worker %s started (tasks + dispatcher)") % worker_id)
        try:
            dispatcher.run(self.main(worker_id, not no_dispatch, tasks))
        finally:
            tasks.stop()
        if tasks.failed.is_set():
            self.stderr.write(_("Worker stopped: the tasks thread could not recover"))
            sys.exit(1)
        self.stdout.write(_("Worker stopped"))

    async def main(self, worker_id: str, dispatch: bool, tasks: TasksThread) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        jobs = [
            asyncio.create_task(self.tick(stop, tasks)),
            asyncio.create_task(self.audiences(stop)),
        ]
        if dispatch:
            jobs.append(asyncio.create_task(Dispatcher(f"dispatch-{worker_id}").run(stop)))
        await asyncio.gather(*jobs)

    async def audiences(self, stop: asyncio.Event) -> None:
        """Queue the rest of every audience a sender left to the workers (or that its
        starter could not finish): lanes in parallel, and a stop waits for one chunk at
        most."""
        quiet = Quiet("audience resumer")
        while not stop.is_set():
            try:
                await asyncio.to_thread(reconnecting, audience.resume_unfinished, stop.is_set)
                quiet.ok()
            except Exception:
                quiet.failed()
            # Often: a sender that handed an audience over has queued only its first chunk,
            # a second of sending at 1,000 msg/s, and the next must land before that is out.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RESUME_SECONDS)

    async def tick(self, stop: asyncio.Event, tasks: TasksThread) -> None:
        """Pick up webhook events whose task was lost or whose retry time has come, and run
        the periodic jobs; stop the process if the tasks thread gave up."""
        quiet = Quiet("webhook ticker")
        while not stop.is_set():
            if tasks.failed.is_set():
                stop.set()
                return
            try:
                await asyncio.to_thread(reconnecting, _tick)
                quiet.ok()
            except Exception:
                quiet.failed()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
