"""Every action from every state: allowed where the press office's rules say, refused
elsewhere with the state named. The expectations are written out here, not read from the
service's table, so a wrong row in the table fails."""

from datetime import timedelta

import pytest
from django.utils import timezone

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Refused
from banditore.broadcasts.models import Broadcast
from tests.broadcasts.conftest import EDITOR, OTHER, in_state

STATES = [
    "draft", "submitted", "approved", "scheduled", "sending", "paused", "sent", "cancelled",
    "missed",
]  # fmt: skip
STARTED = {"sending", "paused", "sent", "cancelled"}

# action: (the states it is allowed from, the state it leads to, the refusal's code)
EXPECTED = {
    "update": ({"draft"}, "draft", "not_draft"),
    "submit": ({"draft"}, "submitted", "not_draft"),
    "approve": ({"submitted"}, "approved", "not_submitted"),
    "withdraw": ({"submitted", "approved", "scheduled"}, "draft", "not_waiting"),
    "schedule": ({"approved", "scheduled"}, "scheduled", "not_approved"),
    "send": ({"approved", "scheduled"}, "sending", "not_approved"),
    "pause": ({"sending"}, "paused", "not_sending"),
    "resume": ({"paused"}, "sending", "not_paused"),
    "cancel": (
        {"draft", "submitted", "approved", "scheduled", "sending", "paused"}, "cancelled",
        "finished",
    ),
    "miss": ({"scheduled"}, "missed", "not_scheduled"),
    "retry_failed": ({"sending", "sent"}, "sending", "not_started"),
}  # fmt: skip

CALLS = {
    "update": lambda b: lifecycle.update(b, EDITOR, text="Mercato in piazza Cavour"),
    "submit": lambda b: lifecycle.submit(b, EDITOR),
    "approve": lambda b: lifecycle.approve(b, OTHER),
    "withdraw": lambda b: lifecycle.withdraw(b, EDITOR),
    "schedule": lambda b: lifecycle.schedule(b, EDITOR, at=timezone.now() + timedelta(hours=2)),
    "send": lambda b: lifecycle.send(b, EDITOR),
    "pause": lambda b: lifecycle.pause(b, EDITOR),
    "resume": lambda b: lifecycle.resume(b, EDITOR),
    "cancel": lambda b: lifecycle.cancel(b, EDITOR),
    "miss": lambda b: lifecycle.miss(b),
    "retry_failed": lambda b: lifecycle.retry_failed(b, EDITOR),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(EXPECTED))
def test_every_action_from_every_state(four_eyes, audience, state, action):
    b = in_state(four_eyes, state)
    if state == "sent":
        # Something to retry.
        b.deliveries.filter(pk=b.deliveries.order_by("id").first().pk).update(status="failed")
    assert b.status == state
    allowed, target, code = EXPECTED[action]
    if state in allowed:
        CALLS[action](b)
        assert Broadcast.objects.get(pk=b.pk).status == target
        return
    with pytest.raises(Refused) as refused:
        CALLS[action](b)
    expected_code = "immutable" if action == "update" and state in STARTED else code
    if action == "send" and state in ("draft", "submitted"):
        expected_code = "needs_approval"  # four eyes: it waits for a second person
    assert refused.value.code == expected_code
    if expected_code != "needs_approval" and expected_code != "immutable":
        assert b.get_status_display() in refused.value.message
    assert Broadcast.objects.get(pk=b.pk).status == state


def test_every_action_the_table_knows_is_tested():
    assert set(lifecycle.TRANSITIONS) - {"send_alone"} == set(EXPECTED)
