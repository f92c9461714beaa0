"""A big CSV import never makes a webhook wait: on SQLite the import must not hold the one
write lock for so long that `banditore receive` waits out its busy timeout (a 503 at best,
and Meta's retries pile up behind it).

Real processes: the receiver, and the import as an operator runs it (`banditore
subscribers import`), while a thread posts signed status webhooks the whole time. Every
POST must be answered 200 quickly and stored; every row of the file must be in."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from banditore.channels.whatsapp.signature import sign
from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import WebhookEvent
from tests import processes
from tests.factories import channel_of, make_comune
from tests.live_receiver import post
from tests.webhooks.bodies import body, status

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "sandbox-app-secret"
ROWS = 30_000
# Far below the receiver's 20 s busy timeout; one transaction for the whole file held the
# lock for over 10 s here (a POST then went unanswered); batches hold it for ~0.25 s.
SLOWEST_ANSWER = 1.0


def write_list(path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("numero;data consenso;fonte\n")
        for n in range(rows):
            out.write(f"33{n:08d};01/02/2024;modulo cartaceo\n")


class Poster(threading.Thread):
    """Posts one signed status webhook after another until told to stop."""

    def __init__(self, target: str):
        super().__init__(daemon=True)
        self.target, self.stopping = target, threading.Event()
        self.answers: list[tuple[int, float]] = []

    def run(self) -> None:
        n = 0
        while not self.stopping.is_set():
            raw = json.dumps(body(statuses=[status(f"wamid.import.{n}", "delivered")])).encode()
            started = time.monotonic()
            try:
                code = post(self.target, raw, sign(raw, SECRET))
            except OSError:
                code = 0  # no answer within the client's 10 s
            self.answers.append((code, time.monotonic() - started))
            n += 1
            time.sleep(0.02)


def test_webhooks_are_answered_and_stored_during_a_big_import(tmp_path):
    comune = make_comune()
    channel = channel_of(comune)
    path = tmp_path / "lista.csv"
    write_list(path, ROWS)
    with processes.receiver() as url:
        poster = Poster(f"{url}/webhooks/whatsapp/{channel.pk}")
        poster.start()
        time.sleep(0.5)
        env = {**os.environ, "DATABASE_URL": processes.database_url()}
        argv = [sys.executable, "-m", "banditore", "subscribers", "import", str(path)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        time.sleep(0.5)
        poster.stopping.set()
        poster.join(15)
    assert done.returncode == 0, done.stderr
    codes = [code for code, _ in poster.answers]
    slowest = max(seconds for _, seconds in poster.answers)
    assert len(codes) > 20, "the poster hardly ran: the test proves nothing"
    assert set(codes) == {200}, f"answers: {sorted(set(codes))}"
    assert slowest < SLOWEST_ANSWER, f"a webhook waited {slowest:.1f} s"
    assert WebhookEvent.objects.count() == len(codes)
    assert Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).count() == ROWS
    assert ConsentEvent.objects.filter(source=ConsentEvent.Source.IMPORT).count() == ROWS
