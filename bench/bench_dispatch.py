"""How fast the dispatcher drains a broadcast, against the sandbox over real HTTP.

Three figures, all on the embedded default (SQLite) unless DATABASE_URL says otherwise:
- dispatch_cap80_ratio / dispatch_cap1000_ratio: achieved msg/s ÷ the channel's cap, with
  the sandbox enforcing the same cap and answering after 100 ms; target >= 0.95 with zero
  throttling errors (a 130429 fails the figure).
- dispatch_uncapped_msgs_per_second: the dispatcher alone, no cap, zero latency, against a
  do-nothing Graph stand-in (bench/null_graph.py) so the sandbox's own cost isn't measured;
  target >= 3,000 msg/s.

The sandbox runs pinned to CPU 0, the dispatcher (this process) to CPU 1. The rate is taken
between the first and the last accepted send (sent_at), so start-up doesn't count.
Prints one JSON object per figure on stdout; details on stderr.
"""

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procs import fresh_comune, log

TMP = tempfile.mkdtemp(prefix="banditore-bench-")
os.environ.setdefault("BANDITORE_VAR_DIR", TMP)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banditore.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from banditore.broadcasts import audience  # noqa: E402
from banditore.broadcasts.models import Broadcast, Delivery  # noqa: E402
from banditore.dispatch.dispatcher import Dispatcher, run  # noqa: E402
from banditore.subscribers.models import Subscriber  # noqa: E402

SANDBOX_CONFIG = """
latency_ms = {latency}
[limits]
mps = {mps}
throughput_burst_seconds = 1.0
"""


@contextlib.contextmanager
def sandbox(mps: float, latency_ms: float):
    if mps is None:
        argv = [sys.executable, str(Path(__file__).with_name("null_graph.py"))]
    else:
        config = Path(TMP) / "sandbox.toml"
        config.write_text(SANDBOX_CONFIG.format(mps=mps, latency=latency_ms))
        argv = [sys.executable, "-m", "banditore.sandbox", "--port", "0", "--config", str(config)]
    if shutil.which("taskset"):
        argv = ["taskset", "-c", "0", *argv]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"the sandbox did not start: {line!r}")
    try:
        yield line.rsplit(" ", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def prepare(n: int, rate: int, base_url: str) -> Broadcast:
    org, channel = fresh_comune(base_url, rate)
    Subscriber.objects.bulk_create(
        (Subscriber(organization=org, phone=f"+39333{i:07d}", status="active") for i in range(n)),
        batch_size=5000,
    )
    broadcast = Broadcast.objects.create(
        organization=org, channel=channel, text="Allerta meteo: domani scuole chiuse."
    )
    return broadcast


async def drain(broadcast: Broadcast, n: int, timeout: float) -> None:
    stop = asyncio.Event()
    dispatcher = Dispatcher("bench")
    task = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(0.2)
    await asyncio.to_thread(audience.start, broadcast)
    deadline = time.monotonic() + timeout
    pending = Delivery.objects.filter(status__in=["queued", "sending"])
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        if not await asyncio.to_thread(pending.exists):
            break
    stop.set()
    await task


def measure(n: int, rate: int, sandbox_mps: float, latency_ms: float) -> dict:
    with sandbox(sandbox_mps, latency_ms) as base_url:
        broadcast = prepare(n, rate, base_url)
        started = time.monotonic()
        run(drain(broadcast, n, timeout=n / min(rate, 3000) * 3 + 30))
        wall = time.monotonic() - started
    done = Delivery.objects.filter(status="sent")
    span = done.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] else 0
    sent = done.count()
    result = {
        "sent": sent,
        "of": n,
        "throttled": Delivery.objects.filter(error_code=130429).count(),
        "failed": Delivery.objects.filter(status="failed").count(),
        "rate": (sent - 1) / seconds if seconds > 0 else 0.0,
        "wall_s": round(wall, 2),
    }
    log(f"cap={rate} sandbox_mps={sandbox_mps} latency={latency_ms}ms -> {result}")
    return result


def main() -> int:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    call_command("migrate", verbosity=0)
    log(f"database: {connection.vendor}")
    figures = []
    only = os.environ.get("BENCH_ONLY", "")
    for cap, n in ((80, 1200), (1000, 10000)):
        if only and only != f"cap{cap}":
            continue
        r = measure(n, cap, sandbox_mps=cap, latency_ms=100)
        ratio = r["rate"] / cap
        figures.append(
            {
                "name": f"dispatch_cap{cap}_ratio",
                "value": round(ratio, 3),
                "unit": "achieved/cap",
                "target": 0.95,
                "pass": ratio >= 0.95 and r["throttled"] == 0 and r["sent"] == n,
                "throttled": r["throttled"],
            }
        )
    if only in ("", "uncapped"):
        r = measure(20000, 1_000_000, sandbox_mps=None, latency_ms=0)
        figures.append(
            {
                "name": "dispatch_uncapped_msgs_per_second",
                "value": round(r["rate"]),
                "unit": "msg/s",
                "target": 3000,
                "pass": r["rate"] >= 3000 and r["sent"] == 20000,
            }
        )
    for figure in figures:
        print(json.dumps(figure), flush=True)
    shutil.rmtree(TMP, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
