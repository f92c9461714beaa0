"""Idempotency-Key: a retry replays the first answer and acts no second time."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from banditore.api import idempotency
from banditore.api.models import IdempotentResponse
from banditore.api.tasks import purge_idempotency_keys
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import AuditEvent
from tests.factories import make_comune, subscribe

ALERT = {"text": "Allerta: esondazione del Noncello", "priority": "emergency"}


def _post(api, path, body, key):
    return api.post(path, body, headers={"Idempotency-Key": key})


def test_a_retry_creates_nothing_new(comune, api):
    first = _post(api, "/api/broadcasts", ALERT, "alert-1")
    again = _post(api, "/api/broadcasts", ALERT, "alert-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Broadcast.objects.count() == 1
    other = _post(api, "/api/broadcasts", ALERT, "alert-2")
    assert other.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_body_is_422(comune, api):
    _post(api, "/api/broadcasts", ALERT, "alert-1")
    response = _post(api, "/api/broadcasts", {**ALERT, "text": "Altro"}, "alert-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Broadcast.objects.count() == 1


def test_a_retried_send_starts_once(comune, api):
    subscribe(comune, "+393331112222")
    created = _post(api, "/api/broadcasts", {"text": "Avviso"}, "c").json()
    url = f"/api/broadcasts/{created['id']}/send"
    assert _post(api, url, {}, "s").json()["status"] == "sending"
    assert _post(api, url, {}, "s").json()["status"] == "sending"  # not a 409
    assert AuditEvent.objects.filter(action="broadcast.started").count() == 1
    assert Delivery.objects.filter(broadcast_id=created["id"]).count() == 1


def test_a_refusal_is_replayed_too(comune, api, api_for):
    created = api.post("/api/broadcasts", {"text": "Avviso"}).json()
    url = f"/api/broadcasts/{created['id']}/pause"
    assert _post(api, url, {}, "p").status_code == 409
    assert _post(api, url, {}, "p")["Idempotent-Replayed"] == "true"


def test_keys_are_per_comune_and_path(comune, api, api_for):
    sacile = api_for(make_comune(slug="sacile"), name="sacile")
    ours = _post(api, "/api/broadcasts", ALERT, "shared").json()
    theirs = _post(sacile, "/api/broadcasts", ALERT, "shared").json()
    assert ours["id"] != theirs["id"]
    url = f"/api/broadcasts/{ours['id']}/submit"
    assert _post(api, url, {}, "shared").json()["status"] != ours["status"]


def test_an_unusable_key_is_refused(comune, api):
    for key in ("", "k" * 256):
        response = _post(api, "/api/broadcasts", ALERT, key)
        assert response.status_code == 422 and response.json()["error"]["code"] == (
            "invalid_idempotency_key"
        )
    assert Broadcast.objects.count() == 0


def test_without_a_valid_api_key_nothing_is_kept(comune, api):
    api.headers = {"Authorization": "Bearer wrong"}
    assert _post(api, "/api/broadcasts", ALERT, "k").status_code == 401
    assert not IdempotentResponse.objects.exists()


def test_purge_forgets_after_a_day(comune, api):
    _post(api, "/api/broadcasts", ALERT, "old")
    _post(api, "/api/broadcasts", ALERT, "new")
    IdempotentResponse.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert idempotency.purge() == 1
    assert list(IdempotentResponse.objects.values_list("key", flat=True)) == ["new"]


def test_the_purge_task(comune, api):
    _post(api, "/api/broadcasts", ALERT, "old")
    IdempotentResponse.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_idempotency_keys.call() == 1
    assert not IdempotentResponse.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_act_once(api_for):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database is not shared between threads")
    comune = make_comune()
    api = api_for(comune)
    results, barrier = [], threading.Barrier(4)

    def retry():
        barrier.wait()
        try:
            results.append(_post(api, "/api/broadcasts", ALERT, "storm"))
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [201] * 4
    assert len({r.json()["id"] for r in results}) == 1
    assert Broadcast.objects.count() == 1
