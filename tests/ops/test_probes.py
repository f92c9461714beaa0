"""/healthz and /readyz: each check, and each way readiness fails."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from banditore.ops import health, heartbeat
from banditore.ops.models import WorkerHeartbeat


@pytest.fixture(autouse=True)
def fresh_migration_check():
    # The positive migration check is remembered per process; each test starts afresh.
    health._migrated = False
    yield
    health._migrated = False


def test_healthz_answers_without_the_database(client, db):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert len(queries) == 0


def test_readyz_is_ready_with_a_fresh_heartbeat(client, db):
    heartbeat.beat("worker-a")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": {"database": "ok", "migrations": "ok", "workers": "ok"},
    }


def test_readyz_without_any_worker_is_not_ready(client, db):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["workers"].startswith("no worker heartbeat")


def test_readyz_with_a_stale_heartbeat_is_not_ready(client, db, settings):
    settings.DISPATCH_LEASE_SECONDS = 3
    now = timezone.now()
    heartbeat.beat("worker-a", now=now - timedelta(seconds=10))  # 3 x 3 s = 9 s allowed
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == "no worker heartbeat in the last 9 s"
    heartbeat.beat("worker-a")
    assert client.get("/readyz").status_code == 200


def test_readyz_with_an_unapplied_migration_is_not_ready(client, db):
    heartbeat.beat("worker-a")
    migration = mock.Mock(app_label="ops", name="0002_future")
    migration.name = "0002_future"
    with mock.patch(
        "banditore.ops.health.MigrationExecutor.migration_plan",
        return_value=[(migration, False)],
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["migrations"] == "1 not applied"
    assert checks["workers"] == "ok"


def test_readyz_with_the_database_down_is_not_ready(client, db):
    heartbeat.beat("worker-a")
    with mock.patch("banditore.ops.health.database", return_value="database unreachable (X)"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "database unreachable (X)",
        "migrations": "not checked",
        "workers": "not checked",
    }


def test_database_check_reports_a_failing_query(db):
    with mock.patch.object(connection, "cursor", side_effect=OSError("refused")):
        assert health.database() == "database unreachable (OSError)"


def test_heartbeat_keeps_one_row_per_worker_and_forgets_the_long_gone(db):
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="gone", beat_at=now - timedelta(days=2))
    heartbeat.beat("worker-a", now=now - timedelta(seconds=5))
    heartbeat.beat("worker-a", now=now)
    rows = dict(WorkerHeartbeat.objects.values_list("worker", "beat_at"))
    assert rows == {"worker-a": now}


def test_the_worker_tick_beats(db):
    from banditore.dispatch.management.commands import worker

    worker._tick()
    assert WorkerHeartbeat.objects.filter(worker=heartbeat.this_worker()).exists()
    assert heartbeat.alive().count() == 1
