"""Surviving a database that goes away: the server restarted, the network dropped, SQLite
stayed locked past its busy timeout."""

import contextlib

from django.db import connection


def reconnecting(fn, *args):
    """Call fn; if it fails, throw this thread's connection away, so the next call opens a
    fresh one instead of failing on a dead socket forever."""
    try:
        return fn(*args)
    except Exception:
        with contextlib.suppress(Exception):
            connection.close()
        raise
