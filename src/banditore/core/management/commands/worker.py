"""`banditore worker`: the control-plane task worker and the sending dispatcher, together."""

import asyncio
import contextlib
import logging
import signal
import threading

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django_tasks_db.management.commands.db_worker import Worker

from banditore.core import periodic
from banditore.dispatch import dispatcher
from banditore.dispatch.dispatcher import Dispatcher
from banditore.webhooks.models import WebhookEvent
from banditore.webhooks.tasks import schedule_apply

log = logging.getLogger("banditore.worker")


def _due_webhooks() -> bool:
    from django.db import close_old_connections
    from django.db.models import Q
    from django.utils import timezone

    close_old_connections()
    due = WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=timezone.now())
    )
    if due.exists():
        schedule_apply()
    periodic.run_due()
    return True


class Command(BaseCommand):
    help = "Run the background worker: Django tasks plus the message dispatcher."

    def add_arguments(self, parser):
        parser.add_argument("--worker-id", default=None)
        parser.add_argument("--no-dispatch", action="store_true", help="Only run tasks.")

    def handle(self, *args, worker_id, no_dispatch, **options):
        worker_id = worker_id or get_random_string(12)
        tasks = Worker(
            queue_names=["default"],
            interval=0.2,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"tasks-{worker_id}",
            excluded_queue_names=[],
        )
        thread = threading.Thread(target=tasks.run, name="tasks", daemon=True)
        thread.start()
        self.stdout.write(_("Worker %s started (tasks + dispatcher)") % worker_id)
        try:
            dispatcher.run(self.main(worker_id, not no_dispatch))
        finally:
            tasks.running = False
            thread.join(timeout=10)
        self.stdout.write(_("Worker stopped"))

    async def main(self, worker_id: str, dispatch: bool) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        jobs = [asyncio.create_task(self.tick(stop))]
        if dispatch:
            jobs.append(asyncio.create_task(Dispatcher(f"dispatch-{worker_id}").run(stop)))
        await asyncio.gather(*jobs)

    async def tick(self, stop: asyncio.Event) -> None:
        """Pick up webhook events whose task was lost or whose retry time has come."""
        with_thread = asyncio.to_thread
        while not stop.is_set():
            try:
                await with_thread(_due_webhooks)
            except Exception:
                log.exception("webhook ticker")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
