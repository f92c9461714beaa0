"""The database goes away mid-send (issue 7, points 4 and 11), against real processes.

PostgreSQL: the test starts its own throwaway cluster on a free port (never the shared
server), migrates it, runs sandbox + `banditore receive` + worker against it and restarts the
cluster mid-send (down for 3 s). SQLite: another connection holds the write lock (BEGIN
IMMEDIATE) for longer than the 20 s busy timeout mid-send. Either way the broadcast
completes, nobody is missed, the worker process is still alive, and both its dispatcher and
its tasks thread work again within seconds: a citizen's ISCRIVIMI written afterwards gets
the welcome."""

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest
from django.db import connection

from tests import processes
from tests.e2e.conftest import http_json
from tests.faults import (
    DONE,
    WELCOME,
    Sandbox,
    add_subscribers,
    assert_copies,
    close_db,
    send,
    statuses,
    wait_drained,
    wait_sending_started,
    wired_sandbox,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

PG_BIN = "/usr/lib/postgresql/15/bin"
REPLY_SECONDS = 10


def as_postgres(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


class Cluster:
    """A PostgreSQL 15 cluster of our own in a temporary directory, owned by `postgres`."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="banditore-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = processes.free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/banditore"

    def init(self) -> None:
        as_postgres(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-N")
        self.start()
        as_postgres(f"{PG_BIN}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "banditore")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        log = os.path.join(self.dir, "log")
        as_postgres(f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        as_postgres(f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql: str, *params):
        import psycopg

        with psycopg.connect(self.url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


def banditore(url: str, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "banditore", *argv],
        cwd=processes.ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


SETUP = """
from banditore.subscribers.models import Subscriber
from tests.factories import make_comune
org = make_comune(base_url={base_url!r}, rate=20)
Subscriber.objects.bulk_create(
    Subscriber(organization=org, phone=p, status="active") for p in {numbers!r}
)
print("CHANNEL", org.channels.get().pk)
"""


def first_copy_between(sandbox: Sandbox, text: str, start: float, end: float) -> set[str]:
    """Recipients whose first copy the sandbox accepted between two wall-clock times: the only
    ones a lost write-back may have made the dispatcher send twice."""
    first: dict[str, int] = {}
    for m in sandbox.messages():
        if text in (m.get("text") or ""):
            first.setdefault(m["to"], m["timestamp"])
    return {n for n, t in first.items() if start - 2 <= t <= end + 2}


def test_a_postgresql_restart_mid_send(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("starts a PostgreSQL cluster of its own: runs in the PostgreSQL pass")
    if not os.path.exists(f"{PG_BIN}/initdb") or os.geteuid() != 0:
        pytest.skip("needs the PostgreSQL 15 server binaries and root (runuser -u postgres)")
    cluster = Cluster()
    try:
        cluster.init()
        banditore(cluster.url, "migrate", "--verbosity", "0")
        numbers = [f"+39348{i:07d}" for i in range(200)]
        text = "Esercitazione di protezione civile sabato mattina"
        with (
            processes.sandbox("", "--mps", "20") as url,
            processes.receiver(db_url=cluster.url) as receiver,
        ):
            sandbox = Sandbox(url)
            out = banditore(cluster.url, "shell", "-c", SETUP.format(base_url=url, numbers=numbers))
            channel_id = int(out.split("CHANNEL", 1)[1].split()[0])
            callback = f"{receiver}/webhooks/whatsapp/{channel_id}"
            http_json("POST", f"{url}/_sandbox/config", {"callback_url": callback})
            with processes.worker(db_url=cluster.url) as worker:
                banditore(cluster.url, "broadcast", "send", "--text", text, "--priority", "urgent")
                wait_sending_started(sandbox, 40)
                stopped = time.time()
                cluster.stop("fast")
                time.sleep(3)
                cluster.start()
                started = time.time()
                may_repeat = first_copy_between(sandbox, text, stopped, started)

                def unfinished():
                    rows = cluster.query(
                        "SELECT count(*) FROM broadcasts_delivery "
                        "WHERE status IN ('queued', 'sending')"
                    )
                    return rows[0][0]

                processes.wait_for(lambda: unfinished() == 0, 60, "the broadcast to complete")
                assert worker.poll() is None, "the worker died with the database"
                newcomer = "+393490000001"
                sandbox.write(newcomer, "ISCRIVIMI")
                sandbox.wait_for_message(newcomer, WELCOME, timeout=REPLY_SECONDS)
                copies = sandbox.copies(text)
                assert worker.poll() is None
        final = dict(cluster.query("SELECT status, count(*) FROM broadcasts_delivery GROUP BY 1"))
        broadcast_status = cluster.query("SELECT status FROM broadcasts_broadcast")[0][0]
    finally:
        cluster.destroy()
    assert_copies(copies, numbers, may_repeat)
    assert set(final) <= set(DONE), final
    assert sum(v for k, v in final.items() if k in DONE) == 200 + 1, final  # + the welcome
    assert broadcast_status == "sent"


def test_a_sqlite_write_lock_held_mid_send(comune):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite write lock: runs in the SQLite pass")
    numbers = add_subscribers(comune, 200)
    text = "Avviso: sospensione del servizio di trasporto scolastico"
    path = connection.settings_dict["NAME"]
    with wired_sandbox(comune, mps=20) as sandbox:
        close_db()
        with processes.worker() as worker:
            broadcast = send(text, "urgent")
            wait_sending_started(sandbox, 40)
            locker = sqlite3.connect(path, isolation_level=None, timeout=30)
            try:
                locker.execute("BEGIN IMMEDIATE")
                locked = time.time()
                # A citizen writes while everything waits for the lock.
                sandbox.write("+393490000002", "ISCRIVIMI")
                time.sleep(25)  # longer than the 20 s busy timeout: the waits become errors
            finally:
                locker.execute("ROLLBACK")
                locker.close()
            released = time.time()
            may_repeat = first_copy_between(sandbox, text, locked, released)
            wait_drained(broadcast, timeout=60)
            assert worker.poll() is None, "the worker died while the database was locked"
            newcomer = "+393490000003"
            sandbox.write(newcomer, "ISCRIVIMI")
            sandbox.wait_for_message(newcomer, WELCOME, timeout=REPLY_SECONDS)
            sandbox.wait_for_message("+393490000002", WELCOME, timeout=30)
            copies = sandbox.copies(text)
    assert_copies(copies, numbers, may_repeat)
    assert set(statuses(broadcast)) <= set(DONE), dict(statuses(broadcast))
