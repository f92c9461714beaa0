"""The API drives the real thing: a sandbox process, its webhooks through a receiver process,
a worker process that sends. A civil-protection system that retries sends one alert."""

import time

import pytest

from banditore.broadcasts.models import Broadcast
from tests import processes
from tests.e2e.conftest import Phone, comune, running, sandbox_url  # noqa: F401 - fixtures
from tests.factories import subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retried_alert_reaches_each_citizen_once(comune, running, api_for):  # noqa: F811
    comune.require_broadcast_approval = True
    comune.save()
    anna, bruno = Phone(running, "+393331110001"), Phone(running, "+393331110002")
    for phone in (anna, bruno):
        subscribe(comune, phone.number)
    system = api_for(comune, ["broadcasts:write", "broadcasts:emergency"], name="allerta")
    alert = {"text": "Allerta rossa: chiusi i ponti sul Noncello", "priority": "emergency"}
    for attempt in range(3):  # the system's network drops the answers twice
        created = system.post("/api/broadcasts", alert, headers={"Idempotency-Key": "evt-42"})
        sent = system.post(
            f"/api/broadcasts/{created.json()['id']}/send", headers={"Idempotency-Key": "evt-42s"}
        )
        assert sent.status_code == 200 and sent.json()["status"] == "sending", attempt
    for phone in (anna, bruno):
        message = phone.wait_for_message("Allerta rossa")
        assert message["type"] == "template"
    broadcast = Broadcast.objects.get()
    processes.wait_for(lambda: broadcast.deliveries.filter(status="read").count() == 2)
    time.sleep(0.5)
    for phone in (anna, bruno):
        assert len([m for m in phone.received() if "Allerta" in (m.get("text") or "")]) == 1


def test_a_test_keys_test_send_reaches_the_sandbox_phone_only(comune, running, api_for):  # noqa: F811
    citizen = Phone(running, "+393331110003")
    subscribe(comune, citizen.number)
    operator = Phone(running, "+393339990001")
    test = api_for(comune, test=True, name="staging")
    created = test.post("/api/broadcasts", {"text": "Prova del sistema di allerta"}).json()
    sent = test.post(f"/api/broadcasts/{created['id']}/test", {"numbers": [operator.number]})
    assert sent.json()["sent"] == 1
    message = operator.wait_for_message("Prova del sistema", timeout=10)
    assert "Comune di Pordenone" in message["text"]
    assert test.post(f"/api/broadcasts/{created['id']}/send").json()["dry_run"] is True
    time.sleep(1.5)
    assert not [m for m in citizen.received() if "Prova" in (m.get("text") or "")]
