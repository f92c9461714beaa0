"""A test key's work never reaches a citizen."""

from datetime import timedelta

import pytest
from django.utils import timezone

from banditore.api import models as api_models
from banditore.broadcasts import lifecycle
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import AuditEvent
from tests.factories import subscribe


def in_a_day():
    return timezone.now() + timedelta(days=1)


def test_starting_anything_is_a_dry_run(comune, api_for):
    subscribe(comune, "+393331112222")
    test = api_for(comune, test=True, name="staging")
    created = test.post("/api/broadcasts", {"text": "Prova"}).json()
    assert created["test"] is True
    url = f"/api/broadcasts/{created['id']}"
    assert test.post(f"{url}/submit").json()["status"] == "approved"  # no four eyes here
    at = (timezone.now() + timedelta(hours=3)).isoformat()
    scheduled = test.post(f"{url}/schedule", {"at": at}).json()
    assert scheduled["status"] == "scheduled" and scheduled["dry_run"] is True
    sent = test.post(f"{url}/send").json()
    assert sent["status"] == "sending" and sent["audience_size"] == 1 and sent["dry_run"]
    broadcast = Broadcast.objects.get(pk=created["id"])
    assert broadcast.status == "approved" and broadcast.scheduled_at is None
    assert not Delivery.objects.exists()
    assert not AuditEvent.objects.filter(action="broadcast.started").exists()


def test_the_dry_run_still_refuses_what_the_service_refuses(comune, api_for):
    comune.require_broadcast_approval = True
    comune.save()
    test = api_for(comune, test=True, name="staging")
    created = test.post("/api/broadcasts", {"text": "Prova"}).json()
    refused = test.post(f"/api/broadcasts/{created['id']}/send")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "needs_approval"


def test_a_live_key_never_sends_a_test_broadcast(comune, api_for):
    subscribe(comune, "+393331112222")
    test = api_for(comune, test=True, name="staging")
    live = api_for(comune, name="live")
    created = test.post("/api/broadcasts", {"text": "Prova"}).json()
    test.post(f"/api/broadcasts/{created['id']}/submit")
    for action, body in (("send", {}), ("schedule", {"at": "2099-01-01T10:00:00+01:00"})):
        response = live.post(f"/api/broadcasts/{created['id']}/{action}", body)
        assert response.status_code == 409, action
        assert response.json()["error"]["code"] == "test_broadcast"
    assert not Delivery.objects.exists()


def test_a_test_key_sees_only_test_broadcasts(comune, api_for):
    live = api_for(comune, name="live")
    test = api_for(comune, test=True, name="staging")
    real = live.post("/api/broadcasts", {"text": "Vero"}).json()
    mine = test.post("/api/broadcasts", {"text": "Prova"}).json()
    assert [b["id"] for b in test.get("/api/broadcasts").json()] == [mine["id"]]
    assert test.get(f"/api/broadcasts/{real['id']}").status_code == 404
    assert test.post(f"/api/broadcasts/{real['id']}/cancel").status_code == 404
    assert {b["id"] for b in live.get("/api/broadcasts").json()} == {real["id"], mine["id"]}
    assert api_models.TestBroadcast.objects.get().broadcast_id == mine["id"]


def test_a_test_send_only_through_the_sandbox(comune, api_for):
    test = api_for(comune, test=True, name="staging")
    created = test.post("/api/broadcasts", {"text": "Prova"}).json()
    url = f"/api/broadcasts/{created['id']}/test"
    assert test.post(url, {"numbers": ["3331112222"]}).json()["sent"] == 1
    channel = comune.channels.get()
    channel.config = {**channel.config, "base_url": "https://graph.facebook.com"}
    channel.save()
    refused = test.post(url, {"numbers": ["3331112222"]})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "test_key_live_channel"
    assert Delivery.objects.count() == 1


def test_nobody_else_starts_a_test_broadcast(comune, api_for):
    subscribe(comune, "+393331112222")
    test = api_for(comune, test=True, name="staging")
    created = test.post("/api/broadcasts", {"text": "Prova"}).json()
    test.post(f"/api/broadcasts/{created['id']}/submit")
    broadcast = Broadcast.objects.get(pk=created["id"])
    operator = lifecycle.Actor("ufficio-stampa")
    for action, kw in ((lifecycle.send, {}), (lifecycle.schedule, {"at": in_a_day()})):
        with pytest.raises(lifecycle.Refused) as refused:
            action(broadcast, operator, **kw)
        assert refused.value.code == "test_broadcast"
    broadcast.refresh_from_db()
    assert broadcast.status == "approved" and not Delivery.objects.exists()
    # the API's dry run still tells what would happen
    assert test.post(f"/api/broadcasts/{created['id']}/send").json()["status"] == "sending"
