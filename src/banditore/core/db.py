"""Surviving a database that goes away: the server restarted, the network dropped, SQLite
stayed locked past its busy timeout."""

import contextlib
import time

from django.db import connection

# SQLite's write lock is not fair: a writer waiting for it retries every 100 ms at most (its
# busy handler's longest sleep), so a loop that commits one write transaction after another
# takes the lock back before the waiter looks again, every time (back-to-back audience
# chunks starved a webhook's write for a whole 100,000, and a CSV import for over 10 s).
SQLITE_GAP_SECONDS = 0.12


def let_writers_in() -> None:
    """Between two write transactions of a long loop: on SQLite, pause long enough for any
    writer waiting for the lock to get it; elsewhere nothing."""
    if connection.vendor == "sqlite":
        time.sleep(SQLITE_GAP_SECONDS)


def reconnecting(fn, *args):
    """Call fn; if it fails, throw this thread's connection away, so the next call opens a
    fresh one instead of failing on a dead socket forever."""
    try:
        return fn(*args)
    except Exception:
        with contextlib.suppress(Exception):
            connection.close()
        raise
