"""Many callers at the same moment, each on its own thread and database connection: the
races of the tests that prove a lock holds (PostgreSQL; SQLite's test database is one
connection's)."""

import threading

from django.db import connection


def at_once(work, items) -> list:
    """work(item) for every item, all released together; their results, in finishing order."""
    items = list(items)
    results, barrier = [], threading.Barrier(len(items))

    def one(item):
        barrier.wait()
        try:
            results.append(work(item))
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
