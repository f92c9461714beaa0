"""How many CSV rows per second `banditore subscribers import` takes in, end to end.

Generates a list of N rows (default 100,000) the way comuni have them: `;`, UTF-8 with BOM,
numbers and dates in mixed formats, topics by name; runs the real command (check, then one
transaction through `service.subscribe`) against a fresh database: SQLite in a temporary
directory unless DATABASE_URL says otherwise (then a fresh comune is made in it and
deleted afterwards). Reports peak memory too.

On SQLite, `banditore receive` runs meanwhile and a thread posts signed status webhooks to
it one after another for the whole import (as Meta would while the comune moves its list
in): the import must not hold SQLite's one write lock so long that a webhook waits.

Prints one JSON object per figure on stdout:
- import_rows_per_second: target 2,000 rows/s;
- import_webhook_max_wait_seconds_sqlite: the slowest webhook POST answered during the
  import; target 2 s (a tenth of the busy timeout), and every POST answered 200 and stored.
Details go to stderr. Usage: python bench/bench_import.py [--rows N]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import procs

TARGET = 2000
TOPICS = ["Protezione civile", "Viabilità", "Eventi", "Farmacie di turno", "Servizi comunali"]


def number_formats(n: int) -> str:
    digits = f"33{n:08d}"  # 33x xxxxxxx: valid Italian mobiles
    style = n % 5
    if style == 0:
        return f"{digits[:3]}.{digits[3:]}"
    if style == 1:
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    if style == 2:
        return f"+39 {digits[:3]} {digits[3:6]} {digits[6:]}"
    if style == 3:
        return f"0039{digits}"
    return f"39{digits}"


def date_formats(n: int) -> str:
    day, month, year = 1 + n % 28, 1 + n % 12, 2020 + n % 5
    style = n % 3
    if style == 0:
        return f"{year}-{month:02d}-{day:02d}"
    if style == 1:
        return f"{day:02d}/{month:02d}/{year}"
    return f"{day:02d}-{month:02d}-{year} 10:15"


def generate(path: Path, rows: int) -> None:
    rng = random.Random(4)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("numero;temi;data consenso;fonte\r\n")
        for n in range(rows):
            topics = "|".join(rng.sample(TOPICS, rng.randint(0, 3)))
            out.write(f"{number_formats(n)};{topics};{date_formats(n)};ISCRIVIMI\r\n")


class Poster(threading.Thread):
    """Posts one signed status webhook after another until told to stop."""

    def __init__(self, port: int, channel_id: int, secret: str):
        super().__init__(daemon=True)
        self.port, self.path, self.secret = port, f"/webhooks/whatsapp/{channel_id}", secret
        self.stopping = threading.Event()
        self.answers: list[tuple[int, float]] = []

    def run(self) -> None:
        from banditore.channels.whatsapp.signature import sign

        n = 0
        while not self.stopping.is_set():
            body = procs.status_body(f"wamid.import.{n}", "delivered", int(time.time()))
            raw = json.dumps(body).encode()
            signature = sign(raw, self.secret)
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("POST", self.path, body=raw, headers=headers)
                code = conn.getresponse().status
            except OSError:
                code = 0
            finally:
                conn.close()
            self.answers.append((code, time.monotonic() - started))
            n += 1
            time.sleep(0.02)


@contextlib.contextmanager
def webhooks_meanwhile(org):
    """On SQLite: a receiver process and a poster thread for the block's duration; yields
    the poster (its answers are complete once the block has ended)."""
    from django.db import connection

    from banditore.channels.models import Channel
    from banditore.core.demo import SANDBOX

    if connection.vendor != "sqlite":
        yield None
        return
    channel = Channel.objects.create(organization=org, name="WhatsApp", config=dict(SANDBOX))
    connection.close()
    port = procs.free_port()
    argv = [sys.executable, "-m", "banditore", "receive", "--bind", f"127.0.0.1:{port}"]
    with procs.process(argv, ready_port=port, env=dict(os.environ)):
        poster = Poster(port, channel.pk, SANDBOX["app_secret"])
        poster.start()
        time.sleep(0.5)
        try:
            yield poster
        finally:
            time.sleep(0.5)
            poster.stopping.set()
            poster.join(40)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ.setdefault("BANDITORE_VAR_DIR", str(tmp))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banditore.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from banditore.core.models import Organization
    from banditore.subscribers.models import Subscriber, Topic

    call_command("migrate", verbosity=0)
    slug = f"bench-{os.getpid()}"
    org = Organization.objects.create(name="Comune di Prova", slug=slug)
    for position, name in enumerate(TOPICS):
        Topic.objects.create(organization=org, name=name, slug=f"t{position}", position=position)

    csv_path = tmp / "lista.csv"
    generate(csv_path, args.rows)
    size = csv_path.stat().st_size
    print(f"{args.rows} rows, {size / 1e6:.1f} MB, {connection.vendor}", file=sys.stderr)

    out, err = io.StringIO(), io.StringIO()
    with webhooks_meanwhile(org) as poster:
        started = time.perf_counter()
        call_command("subscribers", "import", str(csv_path), "--org", slug, stdout=out, stderr=err)
        elapsed = time.perf_counter() - started
    imported = Subscriber.objects.filter(organization=org).count()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(out.getvalue().splitlines()[-1], file=sys.stderr)
    print(f"{imported} imported in {elapsed:.1f} s; peak RSS {peak_mb:.0f} MB", file=sys.stderr)
    if connection.vendor != "sqlite":
        org.delete()

    rate = args.rows / elapsed
    ok = imported == args.rows and rate >= TARGET
    result = {
        "name": "import_rows_per_second",
        "value": round(rate, 1),
        "unit": "rows/s",
        "target": TARGET,
        "pass": ok,
    }
    print(json.dumps(result))
    if poster is not None:
        ok = webhook_figure(poster) and ok
    return 0 if ok else 1


def webhook_figure(poster: Poster) -> bool:
    from banditore.webhooks.models import WebhookEvent

    codes = [code for code, _ in poster.answers]
    slowest = max((seconds for _, seconds in poster.answers), default=0.0)
    stored = WebhookEvent.objects.count()
    answered = sum(1 for code in codes if code == 200)
    ok = len(codes) > 20 and answered == len(codes) == stored and slowest < 2
    print(f"{len(codes)} webhooks posted during the import, {answered} answered 200, "
          f"{stored} stored; slowest {slowest:.2f} s", file=sys.stderr)  # fmt: skip
    figure = {
        "name": "import_webhook_max_wait_seconds_sqlite",
        "value": round(slowest, 3),
        "unit": "s",
        "target": 2,
        "pass": ok,
        "posted": len(codes),
        "answered_200": answered,
        "stored": stored,
    }
    print(json.dumps(figure))
    return ok


if __name__ == "__main__":
    sys.exit(main())
