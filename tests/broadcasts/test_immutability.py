"""What citizens received can't change afterwards, through the service or the model."""

import pytest
from django.db import transaction

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import Refused
from banditore.broadcasts.models import Broadcast, ImmutableBroadcast
from tests.broadcasts.conftest import EDITOR, in_state


@pytest.fixture
def started(comune, audience):
    return in_state(comune, "sending")


@pytest.mark.parametrize(
    "change", [{"text": "Altro"}, {"title": "Altro"}, {"priority": 2}, {"topics": ["eventi"]}]
)
def test_the_service_refuses_to_change_a_started_broadcast(started, change):
    with pytest.raises(Refused) as refused:
        lifecycle.update(started, EDITOR, **change)
    assert refused.value.code == "immutable"


@pytest.mark.parametrize("field, value", [("text", "Altro"), ("title", "Altro"), ("priority", 2)])
def test_the_model_refuses_to_save_a_changed_started_broadcast(started, field, value):
    stale = Broadcast.objects.get(pk=started.pk)
    setattr(stale, field, value)
    with pytest.raises(ImmutableBroadcast):
        stale.save()
    with pytest.raises(ImmutableBroadcast):
        stale.save(update_fields=[field])
    assert getattr(Broadcast.objects.get(pk=started.pk), field) != value


def test_the_model_refuses_new_topics_on_a_started_broadcast(comune, started):
    # Django adds and deletes without a savepoint of their own: the caller's atomic block
    # keeps the refused statement from spoiling the rest of the transaction.
    with pytest.raises(ImmutableBroadcast), transaction.atomic():
        started.topics.add(comune.topics.first())
    with pytest.raises(ImmutableBroadcast), transaction.atomic():
        comune.topics.first().broadcasts.add(started)
    assert not started.topics.exists()


def test_other_fields_of_a_started_broadcast_still_save(started):
    started.billable_count = 2
    started.save()
    assert Broadcast.objects.get(pk=started.pk).billable_count == 2


def test_a_started_broadcast_cant_be_deleted(started):
    with pytest.raises(ImmutableBroadcast), transaction.atomic():
        started.delete()
    with pytest.raises(ImmutableBroadcast), transaction.atomic():
        Broadcast.objects.filter(pk=started.pk).delete()
    assert Broadcast.objects.filter(pk=started.pk).exists()


def test_a_draft_changes_and_can_be_deleted(comune):
    b = in_state(comune, "draft")
    b = lifecycle.update(b, EDITOR, text="Nuovo", title="T", priority=2, topics=["eventi"])
    assert (b.text, b.title, b.priority) == ("Nuovo", "T", 2)
    assert list(b.topics.values_list("slug", flat=True)) == ["eventi"]
    b.delete()
    assert not Broadcast.objects.exists()
