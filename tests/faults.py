"""Shared helpers for the fault tests (tests/e2e/test_fault_*.py).

Every fault test counts, in the sandbox, the copies of a broadcast each recipient got: at
least one each, and a second copy only for a delivery that was in flight when the fault
struck (the rows in `sending` at that moment). `Arrivals` records when the sandbox accepted
messages, on this process's monotonic clock, to measure how long a channel stayed silent.
"""

import contextlib
import io
import threading
import time
from collections import Counter
from collections.abc import Iterable

from django.core.management import call_command
from django.db import connection

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.models import Channel
from banditore.subscribers.models import Subscriber
from tests import processes
from tests.e2e.conftest import http_json

DONE = ("sent", "delivered", "read")
WELCOME = "Benvenuto"  # in the reply to ISCRIVIMI
GOODBYE = "Non riceverai più messaggi"  # in the reply to CANCELLAMI


def add_subscribers(comune, n: int, prefix: str = "+39340") -> list[str]:
    numbers = [f"{prefix}{i:07d}" for i in range(n)]
    Subscriber.objects.bulk_create(
        (Subscriber(organization=comune, phone=p, status="active") for p in numbers),
        batch_size=1000,
    )
    return numbers


def send(text: str, priority: str = "normal") -> Broadcast:
    """What the press office does: `banditore broadcast send --text … --priority …`."""
    call_command("broadcast", "send", "--text", text, "--priority", priority, stdout=io.StringIO())
    return Broadcast.objects.latest("id")


def unfinished(broadcast: Broadcast) -> int:
    return broadcast.deliveries.filter(status__in=["queued", "sending"]).count()


def drained(broadcast: Broadcast) -> bool:
    return unfinished(broadcast) == 0


def statuses(broadcast: Broadcast) -> Counter:
    return Counter(broadcast.deliveries.values_list("status", flat=True))


def in_flight(broadcast: Broadcast) -> set[str]:
    """Recipients of the rows claimed and not written back: the only ones that may get a
    second copy if their sender dies or stalls now."""
    return set(broadcast.deliveries.filter(status="sending").values_list("recipient", flat=True))


def sent_in_flight(broadcast: Broadcast, sandbox: "Sandbox", containing: str) -> set[str]:
    """Recipients whose delivery is claimed and not written back although the sandbox already
    accepted their message: exactly the ones a takeover may send to a second time. (A row
    claimed but not sent yet is not in flight: it must reach its citizen once.)"""
    sandbox.settle()
    return in_flight(broadcast) & set(sandbox.copies(containing))


def lease_owner(channel: Channel) -> str:
    return Channel.objects.filter(pk=channel.pk).values_list("lease_owner", flat=True)[0] or ""


class Sandbox:
    """The sandbox's control API, as a test reads it."""

    def __init__(self, url: str):
        self.url = url

    def messages(self, to: str | None = None) -> list[dict]:
        query = f"?to={to.replace('+', '%2B')}" if to else ""
        return http_json("GET", f"{self.url}/_sandbox/messages{query}")

    def copies(self, containing: str) -> Counter:
        """How many messages containing `containing` each number received."""
        return Counter(m["to"] for m in self.messages() if containing in (m.get("text") or ""))

    def stats(self) -> dict:
        return http_json("GET", f"{self.url}/_sandbox/stats")

    def accepted(self) -> int:
        return int(self.stats().get("messages_accepted", 0))

    def settle(self, quiet: float = 0.5, timeout: float = 2.5) -> None:
        """Wait until no message has been accepted for `quiet` seconds: requests a stopped or
        killed sender put on the wire may still be on their way in on a busy machine."""
        deadline = time.monotonic() + timeout
        count = self.accepted()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            count, before = self.accepted(), count
            if count == before:
                return

    def throttled(self) -> int:
        return int(self.stats().get("errors_130429", 0))

    def fault(self, **rule) -> dict:
        return http_json("POST", f"{self.url}/_sandbox/faults", rule)

    def clear_faults(self) -> dict:
        return http_json("DELETE", f"{self.url}/_sandbox/faults")

    def write(self, number: str, text: str) -> str:
        """A citizen writes; returns the inbound message's id."""
        return http_json("POST", f"{self.url}/_sandbox/inbound", {"from": number, "text": text})[
            "id"
        ]

    def wait_for_message(self, number: str, containing: str, timeout: float = 20) -> dict:
        def found():
            return next(
                (m for m in self.messages(number) if containing in (m.get("text") or "")), None
            )

        return processes.wait_for(found, timeout, f"{number} to get {containing!r}")


@contextlib.contextmanager
def wired_sandbox(comune, mps: int, rate: int | None = None, *args: str):
    """A sandbox process (cap `mps`) whose webhooks reach a receiver process; the comune's
    channel points at it and sends at `rate` (default: the cap)."""
    channel = comune.channels.get()
    with processes.receiver() as receiver:
        callback = f"{receiver}/webhooks/whatsapp/{channel.pk}"
        with processes.sandbox(callback, "--mps", str(mps), *args) as url:
            channel.config = {**channel.config, "base_url": url}
            channel.rate_per_second = rate or mps
            channel.save()
            yield Sandbox(url)


class Arrivals:
    """Polls the sandbox's accepted-messages counter every 50 ms in a thread, on this
    process's monotonic clock (the sandbox's own timestamps have a one-second grain)."""

    def __init__(self, sandbox: Sandbox, every: float = 0.05):
        self.sandbox = sandbox
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="arrivals", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.samples.append((time.monotonic(), self.sandbox.accepted()))
            self._stop.wait(self.every)

    def __enter__(self) -> "Arrivals":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def count_at(self, t: float) -> int:
        before = [c for s, c in self.samples if s <= t]
        return before[-1] if before else 0

    def silence_after(self, t: float, leftovers: float = 0.5) -> float:
        """Seconds between the last arrival seen at or before `t` and the first arrival after
        it that is not a leftover of requests already on the wire at `t` (those accepted in
        the next `leftovers` seconds). inf if nothing arrived after."""
        base_t = t + leftovers
        base = self.count_at(base_t)
        last_before = next(
            (s for s, c in self.samples if c >= self.count_at(t)), self.samples[0][0]
        )
        first_after = next((s for s, c in self.samples if s > base_t and c > base), None)
        return float("inf") if first_after is None else first_after - last_before


def assert_copies(
    copies: Counter, numbers: Iterable[str], may_repeat: set[str], most: int = 2
) -> None:
    """Everyone got it; a second copy only where the delivery was in flight at the fault."""
    numbers = list(numbers)
    missed = [n for n in numbers if copies[n] == 0]
    assert not missed, f"{len(missed)} of {len(numbers)} got nothing, e.g. {missed[:5]}"
    repeated = {n: c for n, c in copies.items() if c > 1}
    beyond = {n: c for n, c in repeated.items() if n not in may_repeat}
    assert not beyond, (
        f"{len(beyond)} recipients got a second copy though their delivery was not in flight "
        f"at the fault ({len(repeated)} repeated in all, {len(may_repeat)} were in flight): "
        f"{dict(list(beyond.items())[:5])}"
    )
    too_many = {n: c for n, c in repeated.items() if c > most}
    assert not too_many, f"more than {most} copies: {dict(list(too_many.items())[:5])}"
    outsiders = set(copies) - set(numbers)
    assert not outsiders, f"sent to numbers not in the audience: {sorted(outsiders)[:5]}"


def assert_wamids_match(broadcast: Broadcast, sandbox: Sandbox, containing: str) -> None:
    """Every delivery ended sent/delivered/read with the wamid of the last copy its citizen
    got: no outcome was dropped, and no stale write-back overwrote a newer one."""
    last: dict[str, str] = {}
    for m in sandbox.messages():  # oldest first
        if containing in (m.get("text") or ""):
            last[m["to"]] = m["id"]
    rows = list(broadcast.deliveries.values_list("recipient", "status", "wamid"))
    not_done = [(r, s) for r, s, _ in rows if s not in DONE]
    assert not not_done, f"{len(not_done)} deliveries not sent: {not_done[:5]}"
    wrong = [(r, w, last.get(r)) for r, _, w in rows if w != last.get(r)]
    assert not wrong, (
        f"{len(wrong)} deliveries hold another wamid than their last copy: {wrong[:3]}"
    )


def close_db() -> None:
    """Let go of this process's connection (SQLite: its locks) before other processes write."""
    connection.close()


def wait_drained(broadcast: Broadcast, timeout: float, what: str = "the broadcast to drain"):
    try:
        processes.wait_for(lambda: drained(broadcast), timeout, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; deliveries by status: {dict(statuses(broadcast))}") from None


def throttled_rows(broadcast: Broadcast) -> int:
    return Delivery.objects.filter(broadcast=broadcast, error_code=130429).count()


def wait_sending_started(sandbox: Sandbox, at_least: int, timeout: float = 30) -> None:
    processes.wait_for(
        lambda: sandbox.accepted() >= at_least, timeout, f"{at_least} messages to be accepted"
    )
