"""Pending → proven → (approved) → active, whichever way a citizen comes in."""

import pytest

from banditore.broadcasts.models import Delivery
from banditore.subscribers import service
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.chat import write
from tests.factories import channel_of, web_signup

CITIZEN = "+393331112222"


@pytest.fixture
def channel(comune):
    return channel_of(comune)


def anna_signs_up(comune, topics=("viabilita",)):
    return web_signup(
        comune,
        CITIZEN,
        topics=list(comune.topics.filter(slug__in=topics)),
        name="Anna",
        ip="203.0.113.7",
        user_agent="Mozilla/5.0",
        evidence={"form": "iscriviti"},
    )


def test_a_web_sign_up_waits_for_the_number_to_prove_itself(channel, comune):
    subscriber = anna_signs_up(comune)
    assert subscriber.status == "pending" and len(subscriber.confirmation_code) == 6
    event = ConsentEvent.objects.get()
    assert (event.source, event.ip, event.user_agent) == ("web", "203.0.113.7", "Mozilla/5.0")
    assert event.topics == ["viabilita"]

    answer = write(channel, CITIZEN, f"ISCRIVIMI {subscriber.confirmation_code.lower()}")
    subscriber.refresh_from_db()
    assert subscriber.status == "active" and subscriber.confirmed_at is not None
    # The choices made on the form survive the confirmation.
    assert set(subscriber.topics.values_list("slug", flat=True)) == {"viabilita"}
    assert subscriber.name == "Anna"
    assert "Benvenuto" in answer
    actions = ConsentEvent.objects.order_by("id").values_list("action", flat=True)
    assert list(actions) == ["subscribe", "confirm"]


def test_plain_iscrivimi_also_confirms_a_pending_web_sign_up(channel, comune):
    anna_signs_up(comune)
    write(channel, CITIZEN, "Iscrivimi")
    subscriber = Subscriber.objects.get()
    assert subscriber.status == "active"
    assert set(subscriber.topics.values_list("slug", flat=True)) == {"viabilita"}


def test_signing_up_again_on_the_web_replaces_the_code(comune):
    first = anna_signs_up(comune).confirmation_code
    second = anna_signs_up(comune).confirmation_code
    assert Subscriber.objects.count() == 1
    assert Subscriber.objects.get().confirmation_code == second  # the old code no longer works
    assert len(first) == len(second) == 6


def test_an_active_number_signing_up_on_the_web_changes_nothing(channel, comune):
    write(channel, CITIZEN, "ISCRIVIMI")
    change = service.request_web_signup(
        comune, CITIZEN, topics=[], zone=None, name="", ip=None, user_agent="", evidence={}
    )
    assert not change.changed and change.subscriber.status == "active"


def test_a_web_form_cannot_bring_an_unsubscribed_number_back(channel, comune):
    """Only the number's owner, from WhatsApp, changes its state: a form anyone can fill
    leaves an unsubscribed number unsubscribed, and writes no consent."""
    write(channel, CITIZEN, "ISCRIVIMI")
    write(channel, CITIZEN, "CANCELLAMI")
    events = ConsentEvent.objects.count()
    anna_signs_up(comune)
    assert Subscriber.objects.get(phone=CITIZEN).status == "unsubscribed"
    assert ConsentEvent.objects.count() == events
    write(channel, CITIZEN, "ISCRIVIMI")
    assert Subscriber.objects.get(phone=CITIZEN).status == "active"


def test_with_approval_a_proven_number_waits_for_an_operator(channel, comune):
    comune.require_approval = True
    comune.save()
    answer = write(channel, CITIZEN, "ISCRIVIMI")
    subscriber = Subscriber.objects.get()
    assert subscriber.status == "pending" and subscriber.confirmed_at is not None
    assert "confermerà" in answer
    assert "confermerà" in write(channel, CITIZEN, "ISCRIVIMI")  # asking again changes nothing

    change = service.approve(comune, CITIZEN, actor_label="ufficio stampa")
    subscriber.refresh_from_db()
    assert change.changed and subscriber.status == "active"
    assert ConsentEvent.objects.filter(action="approve", source="operator").exists()
    # The welcome goes out as a template notice: the citizen may not have written for days.
    notice = Delivery.objects.get(kind="notice")
    assert "Benvenuto" in notice.text and notice.recipient == CITIZEN


def test_an_unproven_web_sign_up_cannot_be_approved(comune):
    comune.require_approval = True
    comune.save()
    anna_signs_up(comune)
    assert service.approve(comune, CITIZEN, actor_label="x") is None
    assert Subscriber.objects.get().status == "pending"
