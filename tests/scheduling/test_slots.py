"""Digest slots: "every Thursday at 10:00" collects its broadcasts into one digest, once,
at 10:00 local time whatever the season."""

import datetime as dt

import pytest

from banditore.broadcasts import scheduling
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.broadcasts.slots import SlotEntry
from banditore.core.models import AuditEvent
from tests.factories import make_comune, subscribe
from tests.scheduling.helpers import draft, rome, utc

THURSDAY = 3
TEN = dt.time(10, 0)


@pytest.fixture
def slot(comune):
    return scheduling.create_slot(comune, "Giovedì", THURSDAY, TEN, now=rome(2026, 5, 4, 12, 0))


def test_a_new_slot_runs_at_its_next_occurrence(slot):
    assert slot.next_run_at == rome(2026, 5, 7, 10, 0)


def test_the_entries_go_out_as_one_digest_once(comune, slot):
    subscribe(comune, "+393331110001")
    subscribe(comune, "+393331110002")
    first = draft(comune, "Mercato in piazza giovedì.")
    second = draft(comune, "Chiusa via Roma per lavori.", status=Broadcast.Status.APPROVED)
    scheduling.add_to_slot(slot, first)
    scheduling.add_to_slot(slot, second)
    assert scheduling.tick(rome(2026, 5, 7, 9, 59))["digests"] == []
    done = scheduling.tick(rome(2026, 5, 7, 10, 0, 1))
    [digest_id] = done["digests"]
    assert done["started"] == [digest_id]  # the same tick starts it
    digest = Broadcast.objects.get(pk=digest_id)
    assert digest.text == "Mercato in piazza giovedì.\n\nChiusa via Roma per lavori."
    assert (digest.status, digest.audience_size) == ("sending", 2)
    assert Delivery.objects.count() == 2
    for part in (first, second):
        part.refresh_from_db()
        assert part.status == Broadcast.Status.CANCELLED  # sent as part of the digest only
    assert not SlotEntry.objects.exists()
    assert AuditEvent.objects.filter(action="broadcast.digested").count() == 2
    assert scheduling.tick(rome(2026, 5, 7, 10, 0, 3))["digests"] == []
    slot.refresh_from_db()
    assert slot.next_run_at == rome(2026, 5, 14, 10, 0)


def test_an_empty_slot_sends_nothing_and_moves_on(comune, slot):
    assert scheduling.tick(rome(2026, 5, 7, 10, 0, 1))["digests"] == []
    slot.refresh_from_db()
    assert slot.next_run_at == rome(2026, 5, 14, 10, 0)
    assert not Broadcast.objects.exists()


def test_an_entry_that_would_overflow_the_digest_is_refused(comune, slot):
    scheduling.add_to_slot(slot, draft(comune, "a" * 600))
    with pytest.raises(scheduling.Refused) as refused:
        scheduling.add_to_slot(slot, draft(comune, "b" * 299))
    assert refused.value.code == "digest_too_long"
    assert "901" in str(refused.value)
    scheduling.add_to_slot(slot, draft(comune, "b" * 298))  # 600 + 2 + 298 = 900 fits


def test_only_drafts_and_approved_broadcasts_of_the_comune_join(comune, slot):
    sent = draft(comune, status=Broadcast.Status.SENT)
    with pytest.raises(scheduling.Refused) as refused:
        scheduling.add_to_slot(slot, sent)
    assert refused.value.code == "not_draft"
    other = draft(make_comune(slug="trevi"))
    with pytest.raises(scheduling.Refused):
        scheduling.add_to_slot(slot, other)
    mine = draft(comune)
    scheduling.add_to_slot(slot, mine)
    with pytest.raises(scheduling.Refused) as refused:
        scheduling.add_to_slot(slot, mine)
    assert refused.value.code == "in_slot"


def test_with_four_eyes_an_unapproved_draft_waits_for_the_next_run(comune, slot):
    comune.require_broadcast_approval = True
    comune.save()
    waiting = draft(comune, "Da approvare")
    scheduling.add_to_slot(slot, waiting)
    scheduling.add_to_slot(slot, draft(comune, "Approvata", status=Broadcast.Status.APPROVED))
    [digest_id] = scheduling.tick(rome(2026, 5, 7, 10, 0, 1))["digests"]
    assert Broadcast.objects.get(pk=digest_id).text == "Approvata"
    assert SlotEntry.objects.get().broadcast == waiting


def test_topics_the_digest_reaches_the_union_or_everyone(comune, slot):
    scheduling.add_to_slot(slot, draft(comune, "Strade", topics=["viabilita"]))
    scheduling.add_to_slot(slot, draft(comune, "Feste", topics=["eventi"]))
    [digest_id] = scheduling.run_slots(rome(2026, 5, 7, 10, 0))
    slugs = set(Broadcast.objects.get(pk=digest_id).topics.values_list("slug", flat=True))
    assert slugs == {"viabilita", "eventi"}


def test_a_slot_long_past_its_time_is_skipped_and_keeps_its_entries(comune, slot):
    entry = scheduling.add_to_slot(slot, draft(comune))
    assert scheduling.tick(rome(2026, 5, 7, 13, 0))["digests"] == []
    assert AuditEvent.objects.filter(action="digest.missed").count() == 1
    assert SlotEntry.objects.get() == entry
    slot.refresh_from_db()
    assert slot.next_run_at == rome(2026, 5, 14, 10, 0)


def test_10_local_stays_10_local_across_the_spring_change(comune):
    # Thursday 26 March 2026, 10:00 CET = 09:00 UTC; the next, 2 April, 10:00 CEST = 08:00 UTC.
    slot = scheduling.create_slot(comune, "G", THURSDAY, TEN, now=utc(2026, 3, 25, 0, 0))
    assert slot.next_run_at == utc(2026, 3, 26, 9, 0)
    assert scheduling.next_slot_run(slot, slot.next_run_at) == utc(2026, 4, 2, 8, 0)


def test_10_local_stays_10_local_across_the_autumn_change(comune):
    # Thursday 22 October 2026 10:00 CEST = 08:00 UTC; 29 October 10:00 CET = 09:00 UTC.
    slot = scheduling.create_slot(comune, "G", THURSDAY, TEN, now=utc(2026, 10, 21, 0, 0))
    assert slot.next_run_at == utc(2026, 10, 22, 8, 0)
    assert scheduling.next_slot_run(slot, slot.next_run_at) == utc(2026, 10, 29, 9, 0)


def test_a_slot_on_the_change_night_itself(comune):
    # Sunday 29 March 2026 02:30 does not exist in Rome: the clocks read 03:30 then.
    sunday = scheduling.create_slot(comune, "Notte", 6, dt.time(2, 30), now=utc(2026, 3, 28))
    assert sunday.next_run_at == utc(2026, 3, 29, 1, 30)
    # Sunday 25 October 2026 02:30 happens twice: the first one (CEST) is the slot's.
    autumn = scheduling.create_slot(comune, "Notte", 6, dt.time(2, 30), now=utc(2026, 10, 24))
    assert autumn.next_run_at == utc(2026, 10, 25, 0, 30)


def test_moving_a_slot_moves_its_next_run(comune, slot):
    scheduling.change_slot(slot, weekday=0, at=dt.time(9, 30), now=rome(2026, 5, 4, 12, 0))
    slot.refresh_from_db()
    assert slot.next_run_at == rome(2026, 5, 11, 9, 30)


def test_a_switched_off_slot_does_not_run(comune, slot):
    scheduling.add_to_slot(slot, draft(comune))
    scheduling.change_slot(slot, active=False, now=rome(2026, 5, 4, 12, 0))
    assert scheduling.tick(rome(2026, 5, 7, 10, 0, 1))["digests"] == []
    assert SlotEntry.objects.count() == 1
