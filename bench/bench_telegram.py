"""How close a broadcast on the comune's Telegram bot comes to Telegram's own limit.

One figure, on the embedded default (SQLite) unless DATABASE_URL says otherwise:
- telegram_drain_ratio: a broadcast to 1,800 citizens who started the bot (and have no
  WhatsApp number, so the bot is how they are reached), sent by the dispatcher over real HTTP
  to the sandbox's Bot API, which enforces Telegram's limits (30 messages a second per bot,
  one a second per chat) and answers 429 with retry_after past them. Achieved msg/s between
  the first and the last accepted send ÷ the channel's cap of 30; target >= 0.95 with every
  citizen sent once and zero 429 (the sandbox's own count).

The sandbox runs pinned to CPU 0, the dispatcher (this process) to CPU 1. Prints one JSON
object per figure on stdout; details on stderr. About 70 seconds.
"""

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

from procs import fresh_comune, log

TMP = tempfile.mkdtemp(prefix="banditore-bench-telegram-")
os.environ.setdefault("BANDITORE_VAR_DIR", TMP)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banditore.settings")

import django  # noqa: E402

django.setup()

from bench_dispatch import drain, sandbox  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.utils import timezone  # noqa: E402

from banditore.broadcasts.models import Broadcast, Delivery  # noqa: E402
from banditore.channels.models import Channel  # noqa: E402
from banditore.core.demo import SANDBOX_BOT  # noqa: E402
from banditore.dispatch.dispatcher import run  # noqa: E402
from banditore.subscribers.models import Contact, Subscriber  # noqa: E402

N = 1800
CAP = 30  # Telegram: about 30 messages a second per bot
FIRST_CHAT = 7_000_000


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def prepare(base_url: str) -> Broadcast:
    org, whatsapp = fresh_comune(base_url, 80)
    # No public channel: the figure is the drain to the citizens alone.
    config = {"api_base_url": base_url, "webhook_secret": "bench-secret-0123456789"}
    config.update({k: v for k, v in SANDBOX_BOT.items() if k != "public_channel"})
    Channel.objects.create(
        organization=org,
        kind=Channel.Kind.TELEGRAM,
        name="Telegram",
        config=config,
        rate_per_second=CAP,
    )
    chats = [FIRST_CHAT + i for i in range(N)]
    for chat in chats:  # each citizen starts the bot: a bot may write only to those who did
        post(f"{base_url}/_sandbox/telegram/inbound", {"from": chat, "text": "/start"})
    people = Subscriber.objects.bulk_create(
        Subscriber(organization=org, status="active") for _ in chats
    )
    now = timezone.now()
    Contact.objects.bulk_create(
        Contact(
            organization=org,
            subscriber=person,
            kind=Contact.Kind.TELEGRAM,
            address=str(chat),
            verified_at=now,
        )
        for person, chat in zip(people, chats, strict=True)
    )
    return Broadcast.objects.create(
        organization=org, channel=whatsapp, text="Allerta meteo: domani scuole chiuse."
    )


def main() -> int:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    call_command("migrate", verbosity=0)
    # The sandbox's own rate limit is off for WhatsApp (mps huge); Telegram's stays on.
    with sandbox(1_000_000, 0) as base_url:
        broadcast = prepare(base_url)
        started = time.monotonic()
        run(drain(broadcast, N, timeout=N / CAP * 2 + 30))
        wall = time.monotonic() - started
        stats = get(f"{base_url}/_sandbox/telegram/stats")
    done = Delivery.objects.filter(status="sent", channel__kind="telegram")
    span = done.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] else 0
    sent = done.count()
    rate = (sent - 1) / seconds if seconds > 0 else 0.0
    throttled = stats.get("rate_limited_429", 0)
    log(f"telegram: sent {sent}/{N} at {rate:.2f} msg/s in {wall:.1f} s; sandbox {stats}")
    ratio = rate / CAP
    figure = {
        "name": "telegram_drain_ratio",
        "value": round(ratio, 3),
        "unit": "achieved/cap",
        "target": 0.95,
        "pass": ratio >= 0.95 and throttled == 0 and sent == N and stats.get("sent") == N,
        "throttled": throttled,
        "sent": sent,
    }
    print(json.dumps(figure), flush=True)
    shutil.rmtree(TMP, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
