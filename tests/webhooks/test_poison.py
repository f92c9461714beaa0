"""Poison input: one bad item is set aside alone; a failing event retries, then waits for
an operator as a dead letter; nothing breaks its neighbours."""

import pytest
from django.db import OperationalError

from banditore.broadcasts.models import Delivery
from banditore.subscribers.models import Subscriber
from banditore.webhooks import statuses as status_module
from banditore.webhooks.models import InboundMessage, WebhookEvent, WebhookItemFailure
from banditore.webhooks.tasks import MAX_FAILURES, apply_pending_events, replay
from tests.factories import channel_of
from tests.webhooks.bodies import body, message, status, store

CITIZEN = "+393331112222"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def sent(comune, channel, wamid, **fields):
    return Delivery.objects.create(
        organization=comune,
        channel=channel,
        recipient=CITIZEN,
        status="sent",
        wamid=wamid,
        **fields,
    )


def test_an_error_code_of_2_63_is_set_aside_and_its_siblings_apply(channel, comune):
    poisoned, fine = sent(comune, channel, "w.big"), sent(comune, channel, "w.ok")
    store(
        channel,
        body(
            statuses=[
                status("w.big", "failed", errors=[{"code": 2**63, "title": "huge"}]),
                status("w.ok", "read"),
            ]
        ),
    )
    apply_pending_events()
    fine.refresh_from_db()
    poisoned.refresh_from_db()
    assert fine.status == "read"
    assert poisoned.status == "sent"
    [failure] = WebhookItemFailure.objects.all()
    assert failure.reference == "w.big" and "out of range" in failure.error
    event = WebhookEvent.objects.get()
    assert event.status == "processed" and "1 items set aside" in event.error


def test_a_300_character_wamid_is_set_aside(channel, comune):
    fine = sent(comune, channel, "w.ok")
    store(channel, body(statuses=[status("w" * 300, "delivered"), status("w.ok", "delivered")]))
    apply_pending_events()
    fine.refresh_from_db()
    assert fine.status == "delivered"
    assert WebhookItemFailure.objects.get().kind == "status"
    assert WebhookEvent.objects.get().status == "processed"


@pytest.mark.parametrize("poison", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
def test_a_nul_or_lone_surrogate_in_text_still_subscribes(channel, poison):
    store(channel, body(messages=[message(text=f"ISCRIVIMI{poison}", wamid="wamid.P")]))
    apply_pending_events()
    assert Subscriber.objects.get(phone=CITIZEN).status == "active"
    inbound = InboundMessage.objects.get()
    assert "\x00" not in inbound.text and "\ufffd" in inbound.text
    assert WebhookEvent.objects.get().status == "processed"


@pytest.mark.parametrize("poison", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
def test_a_nul_or_lone_surrogate_in_an_id_sets_only_that_item_aside(channel, comune, poison):
    fine = sent(comune, channel, "w.ok")
    store(
        channel,
        body(
            statuses=[status("w.ok", "read")],
            messages=[message(wamid=f"wamid.{poison}", text="ISCRIVIMI")],
        ),
    )
    apply_pending_events()
    fine.refresh_from_db()
    assert fine.status == "read"
    assert WebhookItemFailure.objects.get().kind == "message"
    assert not InboundMessage.objects.exists()


def test_a_transient_failure_is_retried_later_and_then_applies(channel, comune, monkeypatch):
    d = sent(comune, channel, "w.1")
    store(channel, body(statuses=[status("w.1", "delivered")]))
    real = status_module.apply_forward
    monkeypatch.setattr(
        status_module,
        "apply_forward",
        lambda moves: (_ for _ in ()).throw(OperationalError("deadlock detected")),
    )
    apply_pending_events()
    event = WebhookEvent.objects.get()
    assert (event.status, event.failures) == ("pending", 1)
    assert event.not_before is not None and "deadlock" in event.error
    monkeypatch.setattr(status_module, "apply_forward", real)
    WebhookEvent.objects.update(not_before=None)
    apply_pending_events()
    d.refresh_from_db()
    assert d.status == "delivered"
    assert WebhookEvent.objects.get().status == "processed"


def test_an_event_that_keeps_failing_becomes_a_dead_letter_and_can_be_replayed(
    channel, comune, monkeypatch
):
    d = sent(comune, channel, "w.1")
    poison = store(channel, body(statuses=[status("w.1", "delivered")]))
    store(channel, body(messages=[message(wamid="wamid.fine")]))
    real = status_module.apply_forward

    def locked(moves):
        if any(m.provider_id == "w.1" for m in moves):
            raise OperationalError("canceling statement due to lock timeout")
        return real(moves)

    monkeypatch.setattr(status_module, "apply_forward", locked)
    for _ in range(MAX_FAILURES):
        WebhookEvent.objects.update(not_before=None)
        apply_pending_events()
    poison.refresh_from_db()
    assert poison.status == "dead" and poison.failures == MAX_FAILURES
    assert "lock timeout" in poison.error
    # Its neighbour was applied on the first run, not held up.
    assert Subscriber.objects.get(phone=CITIZEN).status == "active"

    monkeypatch.setattr(status_module, "apply_forward", real)
    assert replay([poison.pk]) == 1
    apply_pending_events()
    poison.refresh_from_db()
    d.refresh_from_db()
    assert poison.status == "processed" and d.status == "delivered"


def test_the_admin_replays_dead_letters(admin_client, channel):
    event = store(channel, body(messages=[message()]))
    WebhookEvent.objects.filter(pk=event.pk).update(status="dead", error="boom")
    listing = admin_client.get("/admin/webhooks/webhookevent/?status__exact=dead")
    assert listing.status_code == 200 and b"boom" in listing.content
    response = admin_client.post(
        "/admin/webhooks/webhookevent/",
        {"action": "replay_events", "_selected_action": [event.pk]},
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == "pending" and event.error == ""
