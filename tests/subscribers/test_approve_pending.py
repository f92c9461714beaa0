"""Comuni with four eyes on sign-ups: list who waits, let them in one by one."""

import pytest

from banditore.subscribers import service
from banditore.subscribers.models import Subscriber
from tests.factories import subscribe, web_signup


@pytest.fixture
def four_eyes(comune):
    comune.require_approval = True
    comune.save()
    for phone in ("+393331110001", "+393331110002"):
        service.confirm_number(comune, phone, evidence={"text": "ISCRIVIMI"})
    return comune


def test_it_lists_numbers_waiting_for_approval(four_eyes, run):
    web_signup(four_eyes, "+393331110003")  # not proven yet: not waiting for the operator
    out = run("pending").out
    assert "+393331110001" in out and "+393331110002" in out
    assert "+393331110003" not in out
    assert "Waiting: 2." in out


def test_it_approves_a_proven_number(four_eyes, run):
    outcome = run("approve", "333 111 0001")
    assert "+393331110001 approved: now active." in outcome.out
    subscriber = Subscriber.objects.get(phone="+393331110001")
    assert subscriber.status == "active"
    assert subscriber.consent_events.last().evidence == {"operator": "cli"}
    assert "+393331110001" not in run("pending").out


def test_it_explains_when_there_is_nothing_to_approve(four_eyes, run):
    subscribe(four_eyes, "+393331110004")
    web_signup(four_eyes, "+393331110003")
    assert "already active" in run("approve", "+393331110004").error
    assert "has not proven the number" in run("approve", "+393331110003").error
    assert "has not signed up" in run("approve", "+393331110009").error
    assert "Not a valid phone number" in run("approve", "0000").error


def test_it_says_when_nobody_waits(comune, run):
    assert "No numbers are waiting for approval." in run("pending").out
