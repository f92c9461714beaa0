"""Broadcasts as the press office makes them: actors, and a broadcast in any state."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Actor
from banditore.broadcasts.models import Broadcast, Priority
from tests.factories import subscribe

CLI = Actor("cli", may_send_emergency_alone=True, may_override_budget=True)
EDITOR = Actor("api:redazione")
OTHER = Actor("api:capo-ufficio")


def user(username: str, *perms: str):
    person = get_user_model().objects.create_user(username, password="x")
    for codename in perms:
        person.user_permissions.add(Permission.objects.get(codename=codename))
    # has_perm caches; a fresh instance sees the permissions just added.
    return get_user_model().objects.get(pk=person.pk)


@pytest.fixture
def four_eyes(comune):
    comune.require_broadcast_approval = True
    comune.save(update_fields=["require_broadcast_approval"])
    return comune


@pytest.fixture
def audience(comune):
    subscribe(comune, "+393331110001")
    subscribe(comune, "+393331110002")


def draft(org, by=EDITOR, priority=Priority.NORMAL, text="Mercato spostato") -> Broadcast:
    return lifecycle.create(org, by, text=text, priority=priority)


def in_state(org, status: str, priority=Priority.NORMAL) -> Broadcast:
    """A broadcast brought to `status` through the service, as an office would."""
    b = draft(org, priority=priority)
    if status == "draft":
        return b
    if status == "submitted":
        org.require_broadcast_approval = True
        org.save(update_fields=["require_broadcast_approval"])
        return lifecycle.submit(b, EDITOR)
    b = lifecycle.submit(b, EDITOR)
    if org.require_broadcast_approval:
        b = lifecycle.approve(b, OTHER)
    if status == "approved":
        return b
    if status == "scheduled":
        from datetime import timedelta

        from django.utils import timezone

        return lifecycle.schedule(b, EDITOR, at=timezone.now() + timedelta(hours=1))
    if status == "missed":
        from datetime import timedelta

        from django.utils import timezone

        b = lifecycle.schedule(b, EDITOR, at=timezone.now() + timedelta(hours=1))
        return lifecycle.miss(b)
    b = lifecycle.send(b, EDITOR)
    if status == "sending":
        return b
    if status == "paused":
        return lifecycle.pause(b, EDITOR)
    if status == "cancelled":
        return lifecycle.cancel(b, EDITOR)
    if status == "sent":
        b.deliveries.update(status="delivered")
        Broadcast.objects.filter(pk=b.pk).update(status="sent")
        b.refresh_from_db()
        return b
    raise AssertionError(status)
