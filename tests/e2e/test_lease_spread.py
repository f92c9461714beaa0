"""Leases spread over workers: six comuni, each its own channel with a broadcast already queued,
and three real `banditore worker` processes on one PostgreSQL database. Whoever tends first
could take all six; the others must end up with their share (2/2/2, or within one) while the
drain is under way, and every citizen gets the broadcast exactly once (counted in the
sandbox), though channels change hands on the way."""

import collections
import contextlib
import datetime as dt
import time

import pytest
from django.db import connection
from django.utils import timezone

from banditore.broadcasts import audience
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.models import Channel
from banditore.core.demo import SANDBOX
from banditore.subscribers.models import Subscriber
from tests import processes
from tests.e2e.conftest import http_json
from tests.factories import make_comune

CHANNELS = 6
WORKERS = 3
CITIZENS = 120
RATE = 10  # msg/s per channel: 12 s of drain each, time enough to see the leases settle
TEXT = "Raccolta rifiuti: giovedì il ritiro della carta è anticipato a mercoledì."
# The spread must stay even this long while every channel still has work.
EVEN_FOR = 1.5

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="workers on several machines share PostgreSQL; SQLite is one machine's database",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


def number(n: int) -> dict:
    return {
        "phone_number_id": f"10654035224{n:04d}",
        "display_phone_number": f"3905100{n:05d}",
        "verified_name": f"Comune {n}",
        "waba_id": SANDBOX["waba_id"],
        "mps": RATE,
    }


def sandbox_config(tmp_path) -> str:
    lines = []
    for n in range(CHANNELS):
        lines.append("[[numbers]]")
        lines += [f"{key} = {value!r}" for key, value in number(n).items()]
    path = tmp_path / "sandbox.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def comuni(sandbox_url: str) -> dict[str, list[str]]:
    """Six comuni with a broadcast each, queued before any worker runs: {the channel's phone
    number id: its citizens}."""
    phones = {}
    for n in range(CHANNELS):
        org = make_comune(slug=f"comune-{n}", base_url=sandbox_url, rate=RATE)
        org.send_window_start = org.send_window_end = dt.time(0, 0)
        org.save()
        channel = org.channels.get()
        config = number(n)
        channel.config = {
            **channel.config,
            "phone_number_id": config["phone_number_id"],
            "display_phone_number": config["display_phone_number"],
        }
        channel.save()
        numbers = [f"+3934{n:02d}{i:06d}" for i in range(CITIZENS)]
        Subscriber.objects.bulk_create(
            Subscriber(organization=org, phone=p, status="active") for p in numbers
        )
        broadcast = Broadcast.objects.create(organization=org, channel=channel, text=TEXT)
        audience.start(broadcast)
        phones[config["phone_number_id"]] = numbers
    return phones


def spread() -> tuple[int, ...]:
    """Channels with work left, per live lease owner, fewest first; () once any is done."""
    busy = set(
        Delivery.objects.filter(status__in=["queued", "sending"]).values_list(
            "channel_id", flat=True
        )
    )
    if len(busy) < CHANNELS:
        return ()
    owners = Channel.objects.filter(pk__in=busy, lease_expires_at__gte=timezone.now())
    counts = collections.Counter(owners.values_list("lease_owner", flat=True))
    return tuple(sorted(counts.values()))


def test_three_workers_split_six_channels_and_send_each_message_once(tmp_path):
    with processes.sandbox("", "--config", sandbox_config(tmp_path)) as sandbox_url:
        phones = comuni(sandbox_url)
        seen = []
        even_since = None
        with contextlib.ExitStack() as stack:
            workers = [
                stack.enter_context(processes.worker("--worker-id", f"spread{i}"))
                for i in range(WORKERS)
            ]
            pending = Delivery.objects.filter(status__in=["queued", "sending"])
            deadline = time.monotonic() + 60
            while pending.exists() and time.monotonic() < deadline:
                now = time.monotonic()
                counts = spread()
                if counts and (not seen or seen[-1] != counts):
                    seen.append(counts)
                even = len(counts) == WORKERS and counts[-1] - counts[0] <= 1
                if not even:
                    even_since = None
                elif even_since is None:
                    even_since = now
                elif now - even_since >= EVEN_FOR:
                    break
                time.sleep(0.1)
            assert even_since is not None and time.monotonic() - even_since >= EVEN_FOR, (
                f"the leases never settled evenly over {WORKERS} workers: {seen}"
            )
            processes.wait_for(lambda: not pending.exists(), 60, "every channel to drain")
            time.sleep(1)  # a second copy, if any, would be sent by now
            assert all(w.poll() is None for w in workers), "a worker died"
        url = f"{sandbox_url}/_sandbox/messages?phone_number_id="
        received = {
            pnid: collections.Counter(m["to"] for m in http_json("GET", url + pnid))
            for pnid in phones
        }
    print(f"spread over time: {seen}")
    for pnid, numbers in phones.items():
        wrong = {p: received[pnid][p] for p in numbers if received[pnid][p] != 1}
        assert not wrong, f"number {pnid}: copies other than one: {wrong}"
        assert sum(received[pnid].values()) == len(numbers)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
