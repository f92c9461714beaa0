"""Fixtures for tests that run the whole service: sandbox, web (live server) and worker.

Every test here commits for real (other processes read the database), on SQLite and on
PostgreSQL alike."""

import json
import urllib.parse
import urllib.request

import pytest

from tests import processes
from tests.factories import make_comune


def http_json(method: str, url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Phone:
    """A citizen's phone, as the sandbox shows it."""

    def __init__(self, sandbox_url: str, number: str):
        self.url = sandbox_url
        self.number = number

    def write(self, text: str) -> None:
        http_json("POST", f"{self.url}/_sandbox/inbound", {"from": self.number, "text": text})

    def received(self) -> list[dict]:
        query = urllib.parse.quote(self.number)
        return http_json("GET", f"{self.url}/_sandbox/messages?to={query}")

    def wait_for_message(self, containing: str, timeout: float = 20) -> dict:
        def found():
            return next((m for m in self.received() if containing in (m.get("text") or "")), None)

        return processes.wait_for(found, timeout, f"{self.number} to get {containing!r}")


@pytest.fixture
def comune(transactional_db):
    return make_comune()


@pytest.fixture
def sandbox_url(comune):
    """A sandbox process whose webhooks reach a receiver process, as Meta's reach production;
    the comune's channel sends to the sandbox."""
    channel = comune.channels.get()
    with processes.receiver() as receiver:
        callback = f"{receiver}/webhooks/whatsapp/{channel.pk}"
        with processes.sandbox(callback, "--mps", "20") as url:
            channel.config = {**channel.config, "base_url": url}
            channel.rate_per_second = 20
            channel.save()
            yield url


@pytest.fixture
def running(sandbox_url):
    """Sandbox + webhook receiver + worker, wired together through the comune's channel."""
    with processes.worker():
        yield sandbox_url


def inject_fault(sandbox_url: str, **rule) -> None:
    http_json("POST", f"{sandbox_url}/_sandbox/faults", rule)
