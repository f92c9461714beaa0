"""Audience at scale: how fast a broadcast's audience becomes deliveries, and how soon it sends.

Figures (one JSON object each on stdout; details on stderr):
- audience_1m_materialise_seconds_pg: 1,000,000 subscribers queued on PostgreSQL, from
  start() to the last chunk committed (the lanes in parallel, as a send does it); target
  10 s. ..._pg_one_lane is the same in a single lane, for comparison.
- first_message_after_send_seconds: on that 1,000,000, from start() to the first accepted
  send, the dispatcher running meanwhile against a do-nothing Graph; target 1 s.
- worker_rss_mb_1m_queued: the dispatcher process's peak RSS while it sends from those
  1,000,000 queued rows (BENCH_AUDIENCE_SEND_SECONDS of sending, not the whole million);
  target 200 MB.
- audience_100k_materialise_seconds_sqlite: 100,000 on SQLite; target 5 s.
- webhook_max_wait_seconds_sqlite: the longest a one-row write transaction (a webhook's)
  waited for SQLite's write lock while those 100,000 were queued; target: a tenth of the
  busy timeout (settings: 20 s).

PostgreSQL runs in a database of its own, created and dropped here: BENCH_PG_URL (default
postgres://postgres@127.0.0.1:5432/banditore_bench_audience); skipped if unreachable.
Each part runs in a child process, since Django is set up for one database per process.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procs import fresh_comune, log

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get(
    "BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/banditore_bench_audience"
)


def setup_django(database_url: str | None, var_dir: str):
    os.environ["BANDITORE_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "banditore.settings"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(n: int, base_url: str = "http://127.0.0.1:9", rate: int = 1_000_000):
    """n active subscribers of one comune, written by the database itself."""
    from django.db import connection, transaction
    from django.utils import timezone

    from banditore.broadcasts.models import Broadcast

    org, channel = fresh_comune(base_url, rate)
    now = timezone.now()
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            series = "SELECT g FROM generate_series(1, %s) g"
            phone = "'+39' || lpad(g::text, 10, '0')"
        else:
            series = (
                "WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < %s)"
                " SELECT g FROM c"
            )
            phone = "'+39' || substr('0000000000' || g, -10, 10)"
        cur.execute(
            f"""INSERT INTO subscribers_subscriber
                (organization_id, phone, status, name, confirmation_code, created_at,
                 subscribed_at)
            SELECT %s, {phone}, 'active', '', '', %s, %s FROM ({series}) AS s""",
            [org.pk, now, now, n],
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE subscribers_subscriber")
    log(f"seeded {n} subscribers in {time.monotonic() - started:.1f}s")
    return Broadcast.objects.create(
        organization=org, channel=channel, text="Allerta meteo: domani scuole chiuse."
    )


def timed_materialise(broadcast) -> dict:
    """start() inside a transaction, as lifecycle.send calls it: the first chunk commits with
    it, and the rest run as its on-commit continuation, all within the time taken here."""
    from django.db import transaction

    from banditore.broadcasts import audience

    started = time.monotonic()
    with transaction.atomic():
        audience.start(broadcast)
        first = time.monotonic() - started
    total = time.monotonic() - started
    broadcast.refresh_from_db()
    return {"seconds": total, "first_chunk_s": first, "size": broadcast.audience_size}


def chunk_holds(broadcast) -> dict:
    """Materialise chunk by chunk from here, timing each (each is one write transaction)."""
    from banditore.broadcasts import audience
    from banditore.broadcasts.models import AudienceLane, Broadcast

    Broadcast.objects.filter(pk=broadcast.pk).update(status="sending", audience_complete=False)
    AudienceLane.objects.create(broadcast=broadcast, lane=0, lanes=1)
    holds = []
    started = time.monotonic()
    more = True
    while more:
        t = time.monotonic()
        more = audience.materialise_chunk(broadcast.pk)
        holds.append(time.monotonic() - t)
    return {"seconds": time.monotonic() - started, "longest_chunk_s": max(holds)}


# -- PostgreSQL --------------------------------------------------------------------------


def null_graph():
    argv = [sys.executable, str(HERE / "null_graph.py")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"null graph did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pg_part(n: int) -> list[dict]:
    from banditore.broadcasts import audience

    figures = []
    # The comparison with one lane doubles the run: BENCH_AUDIENCE_COMPARE=0 skips it.
    compare = os.environ.get("BENCH_AUDIENCE_COMPARE", "1") != "0"
    lanes = audience.LANES
    for parallel in (True, False) if compare else (True,):
        audience.LANES = lanes if parallel else {}
        r = timed_materialise(seed(n))
        log(f"pg materialise n={n} lanes={audience.lanes()}: {r}")
        suffix = "" if parallel else "_one_lane"
        figures.append(
            {
                "name": f"audience_1m_materialise_seconds_pg{suffix}",
                "value": round(r["seconds"], 2),
                "unit": "s",
                "target": 10,
                "pass": r["seconds"] < 10 and r["size"] == n,
                "first_chunk_s": round(r["first_chunk_s"], 3),
                "queued": r["size"],
            }
        )
    audience.LANES = lanes
    figures += pg_first_message(n)
    return figures


def pg_first_message(n: int) -> list[dict]:
    import asyncio
    import threading

    from django.db.models import Min

    from banditore.broadcasts import audience
    from banditore.broadcasts.models import Delivery
    from banditore.dispatch.dispatcher import Dispatcher, run

    send_seconds = float(os.environ.get("BENCH_AUDIENCE_SEND_SECONDS", "30"))
    proc, url = null_graph()
    peak = {"rss": rss_mb()}
    try:
        broadcast = seed(n, base_url=url)

        async def drive():
            stop = asyncio.Event()
            task = asyncio.create_task(Dispatcher("bench").run(stop))
            await asyncio.sleep(1.0)  # the dispatcher is up and idle, as a worker would be
            pressed = time.time()
            thread = threading.Thread(target=audience.start, args=(broadcast,))
            thread.start()
            deadline = time.monotonic() + send_seconds
            while time.monotonic() < deadline:
                peak["rss"] = max(peak["rss"], rss_mb())
                await asyncio.sleep(0.2)
            stop.set()
            await task
            await asyncio.to_thread(thread.join)
            return pressed

        pressed = run(drive())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    first = Delivery.objects.aggregate(first=Min("sent_at"))["first"]
    sent = Delivery.objects.filter(status="sent").count()
    latency = first.timestamp() - pressed if first else float("inf")
    broadcast.refresh_from_db()
    log(
        f"first message after {latency:.3f}s; sent {sent} in {send_seconds:.0f}s; "
        f"peak rss {peak['rss']:.0f} MB; audience {broadcast.audience_size}"
    )
    return [
        {
            "name": "first_message_after_send_seconds",
            "value": round(latency, 3),
            "unit": "s",
            "target": 1,
            "pass": latency < 1,
        },
        {
            "name": "worker_rss_mb_1m_queued",
            "value": round(peak["rss"], 1),
            "unit": "MB",
            "target": 200,
            "pass": peak["rss"] < 200,
            "sent_during_sample": sent,
            "sample_seconds": send_seconds,
            "note": "peak RSS of the dispatcher process while sending from 1M queued rows, "
            "not through the whole 1M send",
        },
    ]


# -- SQLite ------------------------------------------------------------------------------


def sqlite_part(n: int) -> list[dict]:
    import threading

    from django.conf import settings
    from django.db import connection, transaction

    from banditore.channels.models import Channel

    broadcast = seed(n)
    channel_id = broadcast.channel_id
    waits = []
    done = threading.Event()

    def webhook_writer():
        # A webhook's write: one short transaction, as often as it can, timing how long
        # each waits for the write lock (IMMEDIATE: BEGIN takes it).
        try:
            while not done.is_set():
                t = time.monotonic()
                with transaction.atomic():
                    Channel.objects.filter(pk=channel_id).update(lease_owner="")
                waits.append(time.monotonic() - t)
                time.sleep(0.01)
        finally:
            connection.close()

    writer = threading.Thread(target=webhook_writer)
    writer.start()
    try:
        r = timed_materialise(broadcast)
    finally:
        done.set()
        writer.join()
    log(f"sqlite materialise n={n}: {r}; webhook writes {len(waits)}, max {max(waits):.3f}s")
    # The same audience again, chunk by chunk, to time the longest write transaction.
    from banditore.broadcasts.models import Delivery

    Delivery.objects.all().delete()
    holds = chunk_holds(broadcast)
    log(f"sqlite chunk by chunk: {holds}")
    busy = settings.DATABASES["default"]["OPTIONS"]["timeout"]
    worst = max(waits)
    return [
        {
            "name": "audience_100k_materialise_seconds_sqlite",
            "value": round(r["seconds"], 2),
            "unit": "s",
            "target": 5,
            "pass": r["seconds"] < 5 and r["size"] == n,
            "longest_chunk_s": round(holds["longest_chunk_s"], 3),
        },
        {
            "name": "webhook_max_wait_seconds_sqlite",
            "value": round(worst, 3),
            "unit": "s",
            "target": busy / 10,
            "pass": worst < busy / 10,
            "busy_timeout_s": busy,
            "webhook_writes": len(waits),
        },
    ]


# -- driver ------------------------------------------------------------------------------


def child(part: str) -> int:
    var_dir = tempfile.mkdtemp(prefix="banditore-bench-audience-")
    setup_django(PG_URL if part == "pg" else None, var_dir)
    if part == "pg":
        figures = pg_part(int(os.environ.get("BENCH_AUDIENCE_PG_N", "1000000")))
    else:
        figures = sqlite_part(int(os.environ.get("BENCH_AUDIENCE_SQLITE_N", "100000")))
    load = round(os.getloadavg()[0], 2)
    for figure in figures:
        print(json.dumps({**figure, "load": load}), flush=True)
    return 0


def pg_admin(sql: str) -> bool:
    import psycopg

    base, _, name = PG_URL.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(sql.format(name=name))
        return True
    except psycopg.Error as error:
        log(f"PostgreSQL: {error}")
        return False


def main() -> int:
    if len(sys.argv) > 1:
        return child(sys.argv[1])
    parts = ["sqlite"]
    if pg_admin('DROP DATABASE IF EXISTS "{name}"') and pg_admin('CREATE DATABASE "{name}"'):
        parts.append("pg")
    only = os.environ.get("BENCH_ONLY", "")
    code = 0
    try:
        for part in parts:
            if only and only != part:
                continue
            code |= subprocess.run([sys.executable, __file__, part]).returncode
    finally:
        if "pg" in parts:
            pg_admin('DROP DATABASE IF EXISTS "{name}"')
    return code


if __name__ == "__main__":
    sys.exit(main())
