"""How late a scheduled broadcast starts: from its time to its first delivery leaving
`queued` (claimed by the dispatcher), with a real `banditore worker` process ticking every
2 s as in production, on a SQLite database of its own, against the sandbox.

Three broadcasts, each scheduled 3 s ahead at a different phase of the worker's tick; the
figure is the worst of them; target < 5 s. Prints one JSON object on stdout.
"""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procs import log

TMP = tempfile.mkdtemp(prefix="banditore-bench-schedule-")
os.environ["BANDITORE_VAR_DIR"] = TMP
os.environ.pop("DATABASE_URL", None)  # a database of its own, whatever the caller uses
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banditore.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from banditore.broadcasts.models import Broadcast, Delivery  # noqa: E402
from banditore.channels.models import Channel  # noqa: E402
from banditore.core.demo import SANDBOX  # noqa: E402
from banditore.core.models import Organization  # noqa: E402
from banditore.subscribers.models import Subscriber  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
AHEAD = 3.0
TARGET = 5.0


def start(argv: list[str], ready: str) -> tuple[subprocess.Popen, str]:
    """The process and its first line of output, once that line says it is ready."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if ready not in line:
        proc.kill()
        raise SystemExit(f"{argv[1:4]} did not start: {line!r}")
    return proc, line


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def prepare(base_url: str) -> Channel:
    # No quiet hours (start == end): the figure must not depend on the hour it runs at.
    org = Organization.objects.create(
        name="Comune di Bench",
        slug="bench",
        send_window_start=dt.time(0, 0),
        send_window_end=dt.time(0, 0),
    )
    channel = Channel.objects.create(
        organization=org, name="bench", config={**SANDBOX, "base_url": base_url}
    )
    Subscriber.objects.bulk_create(
        Subscriber(organization=org, phone=f"+39333{i:07d}", status="active") for i in range(50)
    )
    return channel


def delay_of_one(channel: Channel, phase: float) -> float:
    time.sleep(phase)
    at = timezone.now() + dt.timedelta(seconds=AHEAD)
    # Created as the lifecycle leaves it after schedule(): approval is not what is measured.
    broadcast = Broadcast.objects.create(
        organization=channel.organization,
        channel=channel,
        text="Giovedì mercato in piazza.",
        status=Broadcast.Status.SCHEDULED,
        scheduled_at=at,
    )
    claimed = Delivery.objects.filter(broadcast=broadcast).exclude(status="queued")
    deadline = time.monotonic() + AHEAD + 30
    while time.monotonic() < deadline:
        if claimed.exists():
            return (timezone.now() - at).total_seconds()
        time.sleep(0.01)
    return float("inf")


def main() -> int:
    call_command("migrate", verbosity=0)
    sandbox, line = start([sys.executable, "-m", "banditore.sandbox", "--port", "0"], "http://")
    try:
        channel = prepare(line.rsplit(" ", 1)[1])  # its first line ends with its URL
        worker, _ = start([sys.executable, "-m", "banditore", "worker"], "Worker ")
        try:
            delays = [delay_of_one(channel, phase) for phase in (0.0, 0.7, 1.4)]
        finally:
            stop(worker)
    finally:
        stop(sandbox)
    log(f"delays: {[round(d, 3) for d in delays]}")
    worst = max(delays)
    print(json.dumps({
        "name": "scheduled_start_delay_seconds",
        "value": round(worst, 3),
        "unit": "s",
        "target": TARGET,
        "pass": worst < TARGET,
        "load": round(os.getloadavg()[0], 2),
    }), flush=True)  # fmt: skip
    shutil.rmtree(TMP, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
