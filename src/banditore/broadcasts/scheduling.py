"""When broadcasts start: at their time, inside the comune's sending window, exactly once.

`tick()` runs in every worker every 2 s. Each step claims its work with one conditional
statement (an UPDATE or DELETE whose WHERE still holds only for the first worker to run it),
so any number of workers start a broadcast, pause it or run a digest slot once. When nothing
is due a tick costs four small queries, each answered by a partial index.

Times are stored in UTC; the comune's rules (sending window, digest slots) are wall-clock
times in its own zone, converted with zoneinfo at each use, so 10:00 stays 10:00 across DST.
"""

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from banditore.broadcasts import lifecycle
from banditore.broadcasts.lifecycle import SYSTEM, Refused
from banditore.broadcasts.models import Broadcast, Priority
from banditore.broadcasts.slots import DigestSlot, SlotEntry, WindowPause
from banditore.core.models import audit

log = logging.getLogger("banditore.scheduling")

B = Broadcast.Status
TEXT_MAX = lifecycle.TEXT_MAX
DIGEST_SEPARATOR = "\n\n"


# -- Local time


def _zone(org) -> ZoneInfo:
    return ZoneInfo(org.time_zone)


def local_moment(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """`day` at wall-clock `at` in `zone`, in UTC. A time the spring change skips (02:30)
    comes out an hour later, as the clocks read; one the autumn change repeats is the first."""
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


def window_open(org, at: dt.datetime) -> bool:
    t = at.astimezone(_zone(org)).time()
    start, end = org.send_window_start, org.send_window_end
    if start == end:  # no quiet hours
        return True
    if start < end:
        return start <= t < end
    return t >= start or t < end  # a window across midnight


def next_opening(org, at: dt.datetime) -> dt.datetime:
    """`at` itself if the window is open then, else the moment it next opens."""
    if window_open(org, at):
        return at
    zone = _zone(org)
    day = at.astimezone(zone).date()
    for offset in range(-1, 3):
        opening = local_moment(day + dt.timedelta(days=offset), org.send_window_start, zone)
        if opening > at:
            return opening
    raise AssertionError("a daily window opens within two days")


def last_closing(org, at: dt.datetime) -> dt.datetime:
    """The latest moment, at or before `at`, at which the window closed."""
    zone = _zone(org)
    day = at.astimezone(zone).date()
    for offset in range(0, -3, -1):
        closing = local_moment(day + dt.timedelta(days=offset), org.send_window_end, zone)
        if closing <= at:
            return closing
    raise AssertionError("a daily window closes within two days")


def keeps_window(broadcast: Broadcast, org) -> bool:
    """Whether the sending window applies: never to emergencies, to urgent ones as the
    comune says."""
    if broadcast.priority == Priority.EMERGENCY:
        return False
    if broadcast.priority == Priority.URGENT:
        return not org.urgent_ignores_window
    return True


# -- The tick


def tick(now: dt.datetime | None = None) -> dict[str, list[int]]:
    """Do whatever is due; return what this caller did (ids), for logs and tests."""
    now = now or timezone.now()
    done = {"digests": [], "started": [], "missed": [], "resumed": [], "paused": []}
    if not _anything_to_look_at(now):
        return done
    done["digests"] = run_slots(now)
    done.update(start_due(now))
    done["resumed"] = resume_at_opening(now)
    done["paused"] = pause_at_closing(now)
    return done


def _due_broadcasts(now):
    return Broadcast.objects.filter(status=B.SCHEDULED, scheduled_at__lte=now)


def _windowed_drains():
    return Broadcast.objects.filter(
        status=B.SENDING, priority__in=[Priority.URGENT, Priority.NORMAL], window_pause=None
    )


def _due_holds(now):
    return WindowPause.objects.filter(until__lte=now)


def _due_slots(now):
    return DigestSlot.objects.filter(active=True, next_run_at__lte=now)


def _anything_to_look_at(now) -> bool:
    """One statement, every branch on a partial index: what an idle tick costs."""
    branches = [
        _due_broadcasts(now),
        _windowed_drains(),
        _due_holds(now),
        _due_slots(now),
    ]
    first, *others = (q.values_list("pk", flat=True) for q in branches)
    return bool(first.union(*others, all=True)[:1])


def _each(rows, step, done: list) -> None:
    # One broadcast that can't start must not keep the others waiting.
    for row in rows:
        try:
            if (result := step(row)) is not None:
                done.append(result)
        except Exception:
            log.exception("scheduling step failed for %r", row)


def start_due(now: dt.datetime) -> dict[str, list[int]]:
    done = {"started": [], "missed": []}
    due = _due_broadcasts(now)

    def step(broadcast):
        org = broadcast.organization
        windowed = keeps_window(broadcast, org)
        # Lateness counts from the first moment it could have gone: a broadcast scheduled
        # at night "for the morning" is not late at 08:00.
        opens = next_opening(org, broadcast.scheduled_at) if windowed else broadcast.scheduled_at
        starts = next_opening(org, now) if windowed else now
        if starts - opens > dt.timedelta(minutes=org.schedule_grace_minutes):
            if _miss(broadcast):
                done["missed"].append(broadcast.pk)
        elif starts <= now and _start(broadcast, now):  # otherwise it waits for the window
            done["started"].append(broadcast.pk)

    _each(due.select_related("organization"), step, [])
    return done


def _start(broadcast: Broadcast, now: dt.datetime) -> bool:
    from banditore.broadcasts import attachments

    try:
        # Before the claim's transaction (an upload takes seconds); lifecycle.send finds it
        # uploaded. A provider that refuses now is tried again at the next tick, within
        # the grace like any late start.
        attachments.ensure_uploaded(broadcast)
    except Refused as refused:
        log.warning("broadcast %s: attachment not uploaded yet: %s", broadcast.pk, refused)
        return False
    try:
        with transaction.atomic():
            # The claim: an UPDATE that changes nothing but takes the row's lock while it is
            # still scheduled. Another worker's waits for this transaction and then finds it
            # sending (PostgreSQL re-checks the WHERE; SQLite runs one writer at a time); if
            # this one fails, its rollback frees the broadcast for the next tick.
            won = Broadcast.objects.filter(pk=broadcast.pk, status=B.SCHEDULED).update(
                scheduled_at=F("scheduled_at")
            )
            if not won:
                return False
            lifecycle.send(broadcast, SYSTEM)
            return True
    except Refused as refused:
        # Refused at its time (the month's budget ran out since it was scheduled): nobody
        # can override on the scheduler's behalf, and retrying every tick changes nothing.
        audit(
            broadcast.organization, "broadcast.start_refused", f"broadcast:{broadcast.pk}",
            code=refused.code, reason=refused.message,
        )  # fmt: skip
        _miss(broadcast)
        return False


def _miss(broadcast: Broadcast) -> bool:
    try:
        lifecycle.miss(broadcast, SYSTEM)  # audited as "broadcast.missed"
    except Refused:
        return False  # another worker marked it first, or an operator cancelled it
    return True


def pause_at_closing(now: dt.datetime) -> list[int]:
    """Pause every windowed drain that was running when its comune's window closed. One an
    operator started after the closing (a deliberate send at night) is left to go on."""
    done = []
    sending = _windowed_drains().select_related("organization")

    def step(broadcast):
        org = broadcast.organization
        if not keeps_window(broadcast, org) or window_open(org, now):
            return None
        if broadcast.started_at and broadcast.started_at >= last_closing(org, now):
            return None
        try:
            with transaction.atomic():
                # The row is the claim: a second worker's INSERT fails on the unique key.
                WindowPause.objects.create(broadcast=broadcast, until=next_opening(org, now))
                lifecycle.pause(broadcast, SYSTEM)
                audit(org, "broadcast.window_closed", f"broadcast:{broadcast.pk}")
        except (IntegrityError, Refused):
            return None  # another worker paused it, or an operator acted first
        return broadcast.pk

    _each(sending, step, done)
    return done


def resume_at_opening(now: dt.datetime) -> list[int]:
    """Resume what the window paused, once it has opened again."""
    done = []

    def step(hold):
        broadcast, org = hold.broadcast, hold.broadcast.organization
        with transaction.atomic():
            if not window_open(org, now):  # the comune moved its window meanwhile
                WindowPause.objects.filter(pk=hold.pk).update(until=next_opening(org, now))
                return None
            # The claim: only the worker whose DELETE removed the row resumes.
            if not WindowPause.objects.filter(pk=hold.pk).delete()[0]:
                return None
            if Broadcast.objects.filter(pk=broadcast.pk, status=B.PAUSED).exists():
                lifecycle.resume(broadcast, SYSTEM)
                return broadcast.pk
        return None  # cancelled, or resumed by an operator meanwhile

    _each(_due_holds(now).select_related("broadcast__organization"),
          step, done)  # fmt: skip
    return done


# -- Digest slots


def next_slot_run(slot: DigestSlot, after: dt.datetime) -> dt.datetime:
    """The slot's first occurrence strictly after `after`, at its wall-clock time."""
    zone = _zone(slot.organization)
    day = after.astimezone(zone).date()
    for offset in range(8):
        candidate = day + dt.timedelta(days=offset)
        if candidate.weekday() == slot.weekday:
            at = local_moment(candidate, slot.time, zone)
            if at > after:
                return at
    raise AssertionError("a weekday comes round within eight days")


def create_slot(org, name: str, weekday: int, at: dt.time, now=None) -> DigestSlot:
    slot = DigestSlot(organization=org, name=name, weekday=weekday, time=at)
    slot.next_run_at = next_slot_run(slot, now or timezone.now())
    slot.save()
    return slot


def change_slot(slot: DigestSlot, *, weekday=None, at=None, active=None, now=None) -> DigestSlot:
    """Move a slot to another day or time, or switch it on or off; its next run follows."""
    if weekday is not None:
        slot.weekday = weekday
    if at is not None:
        slot.time = at
    if active is not None:
        slot.active = active
    slot.next_run_at = next_slot_run(slot, now or timezone.now())
    slot.save(update_fields=["weekday", "time", "active", "next_run_at"])
    return slot


def digest_text(broadcasts) -> str:
    return DIGEST_SEPARATOR.join(b.text.strip() for b in broadcasts)


@transaction.atomic
def add_to_slot(slot: DigestSlot, broadcast: Broadcast, by=SYSTEM) -> SlotEntry:
    """Assign a draft or approved broadcast to the slot's next digest; refused if the digest
    would exceed a broadcast's length."""
    slot = DigestSlot.objects.select_for_update().get(pk=slot.pk)  # one add at a time
    if broadcast.organization_id != slot.organization_id:
        raise Refused("other_comune", _("This broadcast belongs to another comune."))
    if broadcast.status not in (B.DRAFT, B.APPROVED):
        raise Refused("not_draft", _("Only a draft or approved broadcast can join a digest."))
    if SlotEntry.objects.filter(broadcast=broadcast).exists():
        raise Refused("in_slot", _("This broadcast is already in a digest."))
    pending = [e.broadcast for e in slot.entries.select_related("broadcast")]
    length = len(digest_text([*pending, broadcast]))
    if length > TEXT_MAX:
        raise Refused(
            "digest_too_long",
            _(
                "The digest would be %(length)d characters long, over the limit of %(max)d: "
                "shorten this text or assign it to another slot."
            )
            % {"length": length, "max": TEXT_MAX},
        )
    entry = SlotEntry.objects.create(slot=slot, broadcast=broadcast)
    audit(
        broadcast.organization, "broadcast.added_to_digest", f"broadcast:{broadcast.pk}",
        actor=by.user, label=by.label, slot=slot.name,
    )  # fmt: skip
    return entry


@transaction.atomic
def remove_from_slot(broadcast: Broadcast, by=SYSTEM) -> bool:
    removed = bool(SlotEntry.objects.filter(broadcast=broadcast).delete()[0])
    if removed:
        audit(
            broadcast.organization, "broadcast.removed_from_digest", f"broadcast:{broadcast.pk}",
            actor=by.user, label=by.label,
        )  # fmt: skip
    return removed


def run_slots(now: dt.datetime) -> list[int]:
    """Turn every due slot into its digest broadcast; return the digests' ids."""
    done = []
    _each(_due_slots(now).select_related("organization"), lambda slot: run_slot(slot, now), done)
    return done


@transaction.atomic
def run_slot(slot: DigestSlot, now: dt.datetime) -> int | None:
    """Collect the slot's entries into one digest, scheduled at the slot's time so that
    start_due() starts it (window and all); return its id."""
    due_at, org = slot.next_run_at, slot.organization
    # The claim, as core/periodic.py: whoever moves next_run_at off the value it read.
    won = DigestSlot.objects.filter(pk=slot.pk, active=True, next_run_at=due_at).update(
        next_run_at=next_slot_run(slot, now)
    )
    if not won:
        return None
    if now - due_at > dt.timedelta(minutes=org.schedule_grace_minutes):
        # Too late to send "this Thursday's" news: the entries wait for the next run.
        audit(org, "digest.missed", f"slot:{slot.pk}", due_at=due_at.isoformat())
        return None
    entries = [
        e
        for e in slot.entries.select_related("broadcast")
        if e.broadcast.status == B.APPROVED
        or (e.broadcast.status == B.DRAFT and not org.require_broadcast_approval)
    ]  # a draft still awaiting a second person's approval waits for the next run
    if not entries:
        return None
    parts = [e.broadcast for e in entries]
    local_day = due_at.astimezone(_zone(org)).date()
    # Every part was approved (or needs no approval here): so is their concatenation.
    digest = Broadcast.objects.create(
        organization=org,
        channel_id=parts[0].channel_id,
        title=f"{slot.name} {local_day:%d/%m/%Y}",
        text=digest_text(parts),
        priority=Priority.NORMAL,
        created_by_label=SYSTEM.label,
        status=B.SCHEDULED,
        scheduled_at=due_at,
    )
    topics = [set(p.topics.values_list("pk", flat=True)) for p in parts]
    # One part for everyone makes the digest for everyone (no topics).
    if all(topics):
        digest.topics.set(set().union(*topics))
    for part in parts:
        lifecycle.cancel(part, SYSTEM)
        audit(org, "broadcast.digested", f"broadcast:{part.pk}", digest=digest.pk)
    SlotEntry.objects.filter(pk__in=[e.pk for e in entries]).delete()
    audit(
        org, "digest.created", f"broadcast:{digest.pk}", slot=slot.pk,
        parts=[p.pk for p in parts],
    )  # fmt: skip
    return digest.pk
