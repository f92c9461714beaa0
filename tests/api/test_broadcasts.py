"""/api/broadcasts: each action is the lifecycle's, with its refusals as 409/422."""

import csv
import io
import json
from datetime import timedelta

from django.utils import timezone

from banditore.broadcasts.models import Broadcast, Delivery
from banditore.core.models import AuditEvent
from tests.factories import subscribe

DRAFT = {"text": "Giovedì mercato in piazza", "topics": ["eventi"]}


def _create(api, body=DRAFT):
    response = api.post("/api/broadcasts", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_read_list_update(comune, api):
    created = _create(api)
    assert created["status"] == "draft" and created["topics"] == ["eventi"]
    assert created["priority"] == "normal" and created["test"] is False
    assert api.get(f"/api/broadcasts/{created['id']}").json() == created
    assert [b["id"] for b in api.get("/api/broadcasts").json()] == [created["id"]]
    changed = api.patch(f"/api/broadcasts/{created['id']}", {"text": "Mercato annullato"})
    assert changed.status_code == 200
    assert changed.json()["text"] == "Mercato annullato"
    assert changed.json()["topics"] == ["eventi"]  # what was not sent stays
    event = AuditEvent.objects.filter(action="broadcast.created").get()
    assert event.actor_label == "api:protezione-civile"


def test_four_eyes_over_the_api(comune, api, api_for):
    comune.require_broadcast_approval = True
    comune.save()
    subscribe(comune, "+393331112222")
    subscribe(comune, "+393331113333", topics=["viabilita"])
    broadcast = _create(api, {"text": "Allerta meteo"})
    url = f"/api/broadcasts/{broadcast['id']}"
    assert api.post(f"{url}/submit").json()["status"] == "submitted"
    own = api.post(f"{url}/approve")
    assert own.status_code == 409 and own.json()["error"]["code"] == "own_broadcast"
    reviewer = api_for(comune, ["broadcasts:read", "broadcasts:approve"], name="sindaco")
    assert reviewer.post(f"{url}/approve").json()["status"] == "approved"
    sent = api.post(f"{url}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "sending"
    assert sent.json()["audience_size"] == 2
    status = api.get(f"{url}/status").json()
    assert status["counts"]["queued"] == 2 and status["audience_size"] == 2
    edit = api.patch(url, {"text": "troppo tardi"})
    assert edit.status_code == 409 and edit.json()["error"]["code"] == "immutable"
    assert api.post(f"{url}/pause").json()["status"] == "paused"
    assert api.get(f"{url}/status").json()["counts"]["held"] == 2
    assert api.post(f"{url}/resume").json()["status"] == "sending"
    assert api.post(f"{url}/cancel").json()["status"] == "cancelled"
    again = api.post(f"{url}/cancel")
    assert again.status_code == 409 and again.json()["error"]["message"]


def test_approve_needs_its_scope(comune, api_for):
    writer = api_for(comune, ["broadcasts:read", "broadcasts:write"])
    broadcast = _create(writer)
    response = writer.post(f"/api/broadcasts/{broadcast['id']}/approve")
    assert response.status_code == 403 and response.json()["error"]["scope"] == "broadcasts:approve"


def test_an_emergency_alone_needs_the_emergency_scope(comune, api_for):
    comune.require_broadcast_approval = True
    comune.save()
    subscribe(comune, "+393331112222")
    plain = api_for(comune, ["broadcasts:write"], name="plain")
    officer = api_for(comune, ["broadcasts:write", "broadcasts:emergency"], name="officer")
    alert = {"text": "Evacuare via Roma", "priority": "emergency"}
    refused = plain.post(f"/api/broadcasts/{_create(plain, alert)['id']}/send")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "needs_approval"
    sent = officer.post(f"/api/broadcasts/{_create(officer, alert)['id']}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "sending"
    assert Broadcast.objects.get(pk=sent.json()["id"]).review_required


def test_schedule(comune, api):
    broadcast = _create(api)
    url = f"/api/broadcasts/{broadcast['id']}"
    api.post(f"{url}/submit")
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    scheduled = api.post(f"{url}/schedule", {"at": at.isoformat()})
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"
    assert Broadcast.objects.get(pk=broadcast["id"]).scheduled_at == at
    past = api.post(f"{url}/schedule", {"at": (at - timedelta(days=3)).isoformat()})
    assert past.status_code == 422 and past.json()["error"]["code"] == "in_the_past"
    naive = api.post(f"{url}/schedule", {"at": "2030-01-01T10:00:00"})
    assert naive.status_code == 422 and naive.json()["error"]["code"] == "invalid"


def test_test_send_needs_no_approval(comune, api):
    comune.require_broadcast_approval = True
    comune.save()
    broadcast = _create(api)
    url = f"/api/broadcasts/{broadcast['id']}/test"
    sent = api.post(url, {"numbers": ["333 111 2222", "+393331112222", "3334445555"]})
    assert sent.status_code == 200 and sent.json()["sent"] == 2
    notices = Delivery.objects.filter(kind=Delivery.Kind.NOTICE)
    assert sorted(notices.values_list("recipient", flat=True)) == ["+393331112222", "+393334445555"]
    bad = api.post(url, {"numbers": ["ciao"]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_number"
    assert api.post(url, {"numbers": ["3331112222"] * 11}).status_code == 422


def test_outcomes_as_json_and_csv(comune, api):
    subscribe(comune, "+393331112222")
    subscribe(comune, "+393331113333")
    broadcast = _create(api, {"text": "Avviso"})
    url = f"/api/broadcasts/{broadcast['id']}"
    api.post(f"{url}/send")
    Delivery.objects.filter(recipient="+393331113333").update(
        status="failed", error_code=131026, error_title="Message undeliverable"
    )
    rows = json.loads(b"".join(api.get(f"{url}/outcomes").streaming_content))
    assert [(r["phone"], r["status"]) for r in rows] == [
        ("+393331112222", "queued"),
        ("+393331113333", "failed"),
    ]
    response = api.get(f"{url}/outcomes", headers={"Accept": "text/csv"})
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[1]["error_code"] == "131026" and table[1]["phone"] == "+393331113333"
    retried = api.post(f"{url}/retry-failed")
    assert retried.json() == {"retried": 1, "dry_run": False}
    assert Delivery.objects.filter(status="queued", broadcast_id=broadcast["id"]).count() == 2


def test_estimate(comune, api):
    subscribe(comune, "+393331112222")
    broadcast = _create(api, {"text": "Avviso"})
    estimate = api.get(f"/api/broadcasts/{broadcast['id']}/estimate")
    assert estimate.status_code == 200
    assert estimate.json()["recipients"] == 1
    assert "total" in estimate.json()


def test_another_comunes_broadcast_is_invisible(comune, other_comune, api, api_for):
    theirs = _create(api_for(other_comune, name="sacile"))
    assert api.get("/api/broadcasts").json() == []
    for path in ("", "/status", "/outcomes", "/estimate"):
        assert api.get(f"/api/broadcasts/{theirs['id']}{path}").status_code == 404, path
    for action in ("submit", "send", "cancel", "pause"):
        response = api.post(f"/api/broadcasts/{theirs['id']}/{action}")
        assert response.status_code == 404, action
    assert api.patch(f"/api/broadcasts/{theirs['id']}", {"text": "x"}).status_code == 404
    assert Broadcast.objects.get(pk=theirs["id"]).status == "draft"


def test_a_template_and_its_parameters_over_the_api(comune, api):
    from banditore.channels.models import MessageTemplate

    MessageTemplate.objects.create(
        channel=comune.channels.get(), name="evento", language="it", category="UTILITY",
        status="APPROVED", components=[{"type": "BODY", "text": "{{1}} il {{2}}"}],
    )  # fmt: skip
    bad = api.post(
        "/api/broadcasts", {"text": "x", "template": "evento", "template_params": ["a\nb", "c"]}
    )
    error = bad.json()["error"]
    assert bad.status_code == 422 and error["code"] == "template_params"
    assert "line break" in error["message_en"] and "a capo" in error["message"]
    made = _create(
        api, {"text": "Concerto", "template": "evento", "template_params": ["Concerto", "sabato"]}
    )
    assert made["template"] == "evento:it" and made["template_params"] == {
        "1": "Concerto",
        "2": "sabato",
    }
    assert made["preview"]["body"] == "Concerto il sabato"
    back = api.patch(f"/api/broadcasts/{made['id']}", {"template": "", "template_params": {}})
    assert back.json()["template"] is None
