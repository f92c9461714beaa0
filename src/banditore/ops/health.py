"""Readiness: the database answers, every migration is applied, a worker is heartbeating."""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from banditore.ops import heartbeat

# Once a process has seen every migration applied it stays so (its code can't gain new
# migrations while it runs): the migration graph is then not loaded again on every probe.
_migrated = False


def database() -> str | None:
    """None when the database answers, else what went wrong."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:
        return f"database unreachable ({type(exc).__name__})"
    return None


def unapplied_migrations() -> list[str]:
    global _migrated
    if _migrated:
        return []
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    names = [f"{m.app_label}.{m.name}" for m, _backwards in plan]
    _migrated = not names
    return names


def readiness() -> dict[str, str]:
    """Each check's result, "ok" or why not. Nothing else is tried once the database fails."""
    problem = database()
    if problem:
        return {"database": problem, "migrations": "not checked", "workers": "not checked"}
    checks = {"database": "ok"}
    try:
        pending = unapplied_migrations()
    except Exception as exc:
        checks["migrations"] = f"can't be read ({type(exc).__name__})"
    else:
        checks["migrations"] = f"{len(pending)} not applied" if pending else "ok"
    try:
        recent = heartbeat.alive().exists()
    except Exception as exc:
        checks["workers"] = f"can't be read ({type(exc).__name__})"
    else:
        seconds = heartbeat.stale_after().total_seconds()
        checks["workers"] = "ok" if recent else f"no worker heartbeat in the last {seconds:.0f} s"
    return checks
