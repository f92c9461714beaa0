"""Who did what is on the broadcast and in the audit log, with the actor's label."""

from datetime import timedelta

from django.utils import timezone

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Actor
from banditore.core.models import AuditEvent
from tests.broadcasts.conftest import user


def test_each_step_is_recorded_with_its_actor(four_eyes, audience):
    lucia = user("lucia")
    b = lifecycle.create(four_eyes, Actor("cli"), text="Mercato")
    lifecycle.submit(b, Actor("api:redazione"))
    lifecycle.approve(b, Actor.for_user(lucia))
    lifecycle.schedule(b, Actor("cli"), at=timezone.now() + timedelta(hours=1))
    lifecycle.send(b, Actor("system"))
    lifecycle.pause(b, Actor("api:redazione"))
    lifecycle.resume(b, Actor("cli"))
    b = lifecycle.cancel(b, Actor.for_user(lucia))

    assert (b.created_by_label, b.submitted_by_label) == ("cli", "api:redazione")
    assert (b.approved_by, b.approved_by_label) == (lucia, "lucia")
    assert (b.started_by_label, b.paused_by_label, b.cancelled_by) == (
        "system",
        "api:redazione",
        lucia,
    )
    assert all([b.submitted_at, b.approved_at, b.started_at, b.paused_at, b.cancelled_at])
    events = AuditEvent.objects.filter(target=f"broadcast:{b.pk}").order_by("id")
    assert [(e.action, e.actor_label) for e in events] == [
        ("broadcast.created", "cli"),
        ("broadcast.submitted", "api:redazione"),
        ("broadcast.approved", "lucia"),
        ("broadcast.scheduled", "cli"),
        ("broadcast.started", "system"),
        ("broadcast.paused", "api:redazione"),
        ("broadcast.resumed", "cli"),
        ("broadcast.cancelled", "lucia"),
    ]
    assert events.get(action="broadcast.approved").actor == lucia
    assert events.get(action="broadcast.cancelled").data == {"dropped": 2}


def test_an_api_key_acting_for_a_user_keeps_its_label(comune):
    mario = user("mario")
    lifecycle.create(comune, Actor("api:sito", user=mario), text="Mercato")
    event = AuditEvent.objects.get(action="broadcast.created")
    assert (event.actor, event.actor_label) == (mario, "api:sito")
