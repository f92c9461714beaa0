"""A second person approves, never the author; an emergency alone needs the permission."""

import pytest

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Actor, Refused
from banditore.broadcasts.models import Broadcast, Priority
from banditore.core.models import AuditEvent
from tests.broadcasts.conftest import EDITOR, draft, user


def test_with_four_eyes_submit_waits_for_approval(four_eyes):
    b = lifecycle.submit(draft(four_eyes), EDITOR)
    assert (b.status, b.submitted_by_label, b.approved_at) == ("submitted", "api:redazione", None)


def test_without_four_eyes_submit_approves_and_says_so(comune):
    b = lifecycle.submit(draft(comune), EDITOR)
    assert b.status == "approved"
    assert b.approved_by_label == "api:redazione" and b.approved_at is not None
    event = AuditEvent.objects.get(action="broadcast.approved")
    assert event.data == {"four_eyes": False}


def test_the_author_cannot_approve_their_own_broadcast(four_eyes):
    mario = user("mario")
    b = lifecycle.create(four_eyes, Actor.for_user(mario), text="Strada chiusa")
    lifecycle.submit(b, Actor.for_user(mario))
    with pytest.raises(Refused) as refused:
        lifecycle.approve(b, Actor.for_user(mario))
    assert refused.value.code == "own_broadcast"
    assert Broadcast.objects.get(pk=b.pk).status == "submitted"


def test_nor_can_whoever_submitted_it(four_eyes):
    b = draft(four_eyes, by=Actor("api:redazione"))
    lifecycle.submit(b, Actor("api:protezione-civile"))
    with pytest.raises(Refused) as refused:
        lifecycle.approve(b, Actor("api:protezione-civile"))
    assert refused.value.code == "own_broadcast"


def test_a_second_person_approves(four_eyes):
    mario, lucia = user("mario"), user("lucia")
    b = lifecycle.create(four_eyes, Actor.for_user(mario), text="Strada chiusa")
    lifecycle.submit(b, Actor.for_user(mario))
    b = lifecycle.approve(b, Actor.for_user(lucia))
    assert (b.status, b.approved_by, b.approved_by_label) == ("approved", lucia, "lucia")


def test_an_emergency_goes_out_alone_with_the_permission_and_is_flagged(four_eyes, audience):
    officer = Actor.for_user(user("protezione", "send_emergency_alone"))
    assert officer.may_send_emergency_alone
    b = lifecycle.create(four_eyes, officer, text="Allerta rossa", priority=Priority.EMERGENCY)
    b = lifecycle.send(b, officer)
    assert (b.status, b.review_required, b.started_by_label) == ("sending", True, "protezione")
    assert b.deliveries.count() == 2
    assert AuditEvent.objects.filter(action="broadcast.sent_alone", actor_label="protezione")


def test_without_the_permission_an_emergency_waits(four_eyes, audience):
    clerk = Actor.for_user(user("impiegato"))
    assert not clerk.may_send_emergency_alone
    b = lifecycle.create(four_eyes, clerk, text="Allerta rossa", priority=Priority.EMERGENCY)
    with pytest.raises(Refused) as refused:
        lifecycle.send(b, clerk)
    assert refused.value.code == "needs_approval"
    assert not b.deliveries.exists()
    assert Broadcast.objects.get(pk=b.pk).status == "draft"


def test_the_permission_is_for_emergencies_only(four_eyes, audience):
    officer = Actor.for_user(user("protezione", "send_emergency_alone"))
    b = lifecycle.create(four_eyes, officer, text="Mercato", priority=Priority.URGENT)
    with pytest.raises(Refused) as refused:
        lifecycle.send(b, officer)
    assert refused.value.code == "needs_approval"


def test_an_approved_emergency_needs_no_review(four_eyes, audience):
    b = draft(four_eyes, priority=Priority.EMERGENCY)
    lifecycle.submit(b, EDITOR)
    b = lifecycle.send(lifecycle.approve(b, Actor("lucia")), EDITOR)
    assert b.review_required is False


def test_a_second_person_reviews_an_emergency_sent_alone(four_eyes, audience):
    officer = Actor("protezione", may_send_emergency_alone=True)
    b = lifecycle.create(four_eyes, officer, text="Allerta", priority=Priority.EMERGENCY)
    b = lifecycle.send(b, officer)
    with pytest.raises(Refused) as refused:
        lifecycle.review(b, officer)
    assert refused.value.code == "own_broadcast"
    b = lifecycle.review(b, Actor("sindaco"))
    assert (b.reviewed_by_label, b.reviewed_at is not None) == ("sindaco", True)
    with pytest.raises(Refused):
        lifecycle.review(b, Actor("assessore"))


def test_a_withdrawn_broadcast_needs_approving_again(four_eyes, audience):
    b = lifecycle.submit(draft(four_eyes), EDITOR)
    b = lifecycle.approve(b, Actor("lucia"))
    b = lifecycle.withdraw(b, EDITOR)
    assert (b.status, b.approved_by_label, b.approved_at) == ("draft", "", None)
    lifecycle.update(b, EDITOR, text="Mercato spostato a venerdì")
    lifecycle.submit(b, EDITOR)
    with pytest.raises(Refused) as refused:
        lifecycle.send(b, EDITOR)
    assert refused.value.code == "needs_approval"
    assert AuditEvent.objects.filter(action="broadcast.withdrawn", actor_label="api:redazione")
