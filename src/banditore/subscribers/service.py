"""Subscription changes. Every change writes its ConsentEvent in the same transaction.

A subscriber's life: a web sign-up is *pending* until a WhatsApp message from the number
proves it (`confirm_number`); a keyword from WhatsApp proves the number at once. If the
comune wants four eyes (`require_approval`), a proven number still waits for an operator
(`approve`). Then it is *active*, until *unsubscribed* (or found *unreachable*).

The citizen's own order decides. Commands from their phone carry their timestamp, and
webhooks arrive late, repeated and out of order, applied by whichever worker takes them:
`last_command_at` keeps the time of the newest command applied, and an older one, compared
under the row lock, changes nothing (`Change.stale`). Everyone else's actions (operator,
import, web form, the provider's signals) are not the citizen's commands and are never
stale. Those that end a subscription (an operator's or the provider's opt-out, an
unreachable number) move `last_command_at` to the moment they are applied, so that a
sign-up written before them and delivered late can't undo them; sign-ups by others don't,
so a CANCELLAMI written before them and delivered late still applies: in doubt, silence.
"""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from banditore.broadcasts.models import Delivery
from banditore.core.models import Organization
from banditore.dispatch import queries
from banditore.subscribers import contacts
from banditore.subscribers.contacts import Address
from banditore.subscribers.models import ConsentEvent, Subscriber, Topic, Zone

S = Subscriber.Status
A = ConsentEvent.Action
SKIP = Delivery.SkipReason
# Unambiguous when read aloud or typed on a phone: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# A citizen's timestamp further ahead of our clock than this is a broken or forged clock.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Change:
    subscriber: Subscriber
    # False when the request changed nothing (already subscribed / already gone).
    changed: bool
    # The citizen had already had a newer command applied: this one was left alone.
    stale: bool = False


def _event(
    org: Organization,
    subscriber: Subscriber,
    action: str,
    source: str,
    *,
    topics: list[str],
    evidence: dict,
    when: datetime,
    ip: str | None = None,
    user_agent: str = "",
    who: Address | None = None,
) -> ConsentEvent:
    # The contact the change came through; for an operator's or the provider's change to
    # someone without a number, their first other contact.
    if who is None:
        who = contacts.first_address(subscriber)
    other = not who.is_phone
    return ConsentEvent(
        organization=org,
        subscriber=subscriber,
        phone=subscriber.phone,
        contact_kind=who.kind if other else "",
        contact=who.value if other else "",
        phone_hash=who.proof_hash(),
        action=action,
        source=source,
        notice_version=org.privacy_notice_version,
        topics=sorted(topics),
        zone=subscriber.zone.slug if subscriber.zone_id else "",
        evidence=evidence,
        ip=ip,
        user_agent=user_agent[:300],
        occurred_at=when,
    )


def record(
    org: Organization,
    subscriber: Subscriber,
    action: str,
    source: str,
    *,
    evidence: dict,
    when: datetime | None = None,
    ip: str | None = None,
    user_agent: str = "",
    who: Address | None = None,
) -> ConsentEvent:
    """Append the proof of a change, with the subscription's scope as it now stands."""
    event = _event(
        org,
        subscriber,
        action,
        source,
        topics=list(subscriber.topics.values_list("slug", flat=True)),
        evidence=evidence,
        when=when or timezone.now(),
        ip=ip,
        user_agent=user_agent,
        who=who,
    )
    event.save()
    return event


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _clamped(when: datetime | None) -> datetime:
    now = timezone.now()
    if when is None or when > now + MAX_CLOCK_SKEW:
        return now
    return when


# The citizen's own messages, from their phone or their chat.
CITIZEN_SOURCES = (ConsentEvent.Source.WHATSAPP, ConsentEvent.Source.TELEGRAM)


def _citizen_time(source: str, when: datetime | None) -> datetime | None:
    """The time that orders this command against the citizen's others, or None when the
    command is not the citizen's own message (see the module's docstring)."""
    if source not in CITIZEN_SOURCES or when is None:
        return None
    return _clamped(when)


def _stale(subscriber: Subscriber, at: datetime | None) -> bool:
    last = subscriber.last_command_at
    return at is not None and last is not None and at < last


def _advance(subscriber: Subscriber, at: datetime) -> None:
    """Move `last_command_at` forward (never back) to the command just applied."""
    if subscriber.last_command_at is None or at > subscriber.last_command_at:
        subscriber.last_command_at = at


def _server_time() -> datetime:
    # Meta stamps messages in whole seconds: at the same grain, a message written in the
    # same second as an operator's opt-out is not taken for older.
    return timezone.now().replace(microsecond=0)


def _unchanged(subscriber: Subscriber, at: datetime | None) -> Change:
    """A citizen's command that changes nothing still counts in their order: after
    ISCRIVIMI (t=20), ISCRIVIMI (t=30), a late CANCELLAMI (t=25) is older than the last."""
    if at is not None:
        _advance(subscriber, at)
        subscriber.save(update_fields=["last_command_at"])
    return Change(subscriber, changed=False)


# What stops going to someone who left; replies stay: the goodbye must still go out.
UNSOLICITED = (Delivery.Kind.BROADCAST, Delivery.Kind.NOTICE)


def skip_pending_messages(
    recipients: Q, reason: str, now: datetime, kinds: tuple[str, ...] = UNSOLICITED
) -> None:
    """Queued and held messages to these recipients will never go: skipped with the
    reason, not failed (nothing went wrong)."""
    dropped = Delivery.objects.filter(
        recipients,
        kind__in=kinds,
        status__in=[Delivery.Status.QUEUED, Delivery.Status.HELD],
    )
    broadcasts = set(dropped.exclude(broadcast=None).values_list("broadcast_id", flat=True))
    dropped.update(status=Delivery.Status.SKIPPED, skip_reason=reason)
    # The dropped message may have been a broadcast's last one.
    queries.finish_broadcasts(broadcasts, now)


def _activate(subscriber: Subscriber, when: datetime) -> None:
    subscriber.status = S.ACTIVE
    subscriber.subscribed_at = when
    subscriber.unsubscribed_at = None
    subscriber.confirmation_code = ""


@transaction.atomic
def subscribe(
    org: Organization,
    who: str | Address,
    *,
    source: str,
    evidence: dict,
    when: datetime | None = None,
    topics: list[Topic] | None = None,
    zone: Zone | None = None,
    name: str = "",
) -> Change:
    """Activate a number directly (operator, import, tests): the caller vouches for consent.

    Without a topic choice it follows every topic of the comune.
    """
    who = contacts.address(who)
    at = _citizen_time(source, when)
    when = _clamped(when)
    subscriber, _ = contacts.get_or_create_locked(org, who)
    if _stale(subscriber, at):
        return Change(subscriber, changed=False, stale=True)
    if subscriber.status == S.ACTIVE:
        return _unchanged(subscriber, at)
    if at is not None:
        _advance(subscriber, at)
    _activate(subscriber, when)
    subscriber.confirmed_at = subscriber.confirmed_at or when
    subscriber.approved_at = subscriber.approved_at or when
    subscriber.zone = zone or subscriber.zone
    subscriber.name = name or subscriber.name
    subscriber.save()
    subscriber.topics.set(topics if topics is not None else org.topics.all())
    record(org, subscriber, A.SUBSCRIBE, source, evidence=evidence, when=when, who=who)
    return Change(subscriber, changed=True)


def _unclaimed(org: Organization, subscriber: Subscriber, created: bool, now: datetime) -> bool:
    """Whether a web form may (re)write this row: a number never seen, or a web sign-up
    nobody proved within the comune's expiry (the nightly purge would delete it anyway)."""
    if created:
        return True
    return (
        subscriber.status == S.PENDING
        and subscriber.confirmed_at is None
        and subscriber.created_at < now - timedelta(days=org.signup_expiry_days)
    )


@transaction.atomic
def request_web_signup(
    org: Organization,
    phone: str,
    *,
    topics: list[Topic],
    zone: Zone | None,
    name: str,
    ip: str | None,
    user_agent: str,
    evidence: dict,
) -> Change:
    """A web form sign-up: recorded at once, active only once the number proves itself.

    Anyone can type any number in the form, so the form may only write a row nobody owns
    yet: a new number, or a pending sign-up whose time to be proven has run out. For every
    other number (pending, waiting for approval, active, unsubscribed, unreachable) it
    changes nothing, neither the first sign-up's name, topics, zone and code nor the
    state (`changed=False`): only the number's owner changes those, from WhatsApp.
    """
    now = timezone.now()
    subscriber, created = Subscriber.objects.select_for_update().get_or_create(
        organization=org, phone=phone
    )
    if not _unclaimed(org, subscriber, created, now):
        return Change(subscriber, changed=False)
    subscriber.status = S.PENDING
    subscriber.confirmation_code = new_code()
    subscriber.confirmed_at = None
    subscriber.approved_at = None
    subscriber.zone = zone
    subscriber.name = name
    subscriber.created_at = now
    subscriber.save()
    subscriber.topics.set(topics or org.topics.all())
    record(
        org,
        subscriber,
        A.SUBSCRIBE,
        ConsentEvent.Source.WEB,
        evidence=evidence,
        when=now,
        ip=ip,
        user_agent=user_agent,
    )
    return Change(subscriber, changed=True)


@transaction.atomic
def confirm_number(
    org: Organization,
    who: str | Address,
    *,
    evidence: dict,
    when: datetime | None = None,
    zone: Zone | None = None,
    topics: list[Topic] | None = None,
) -> Change:
    """A sign-up keyword arrived from the number itself: that proves it.

    A pending web sign-up keeps the topics and zone chosen on the form; otherwise this is
    a fresh sign-up. With `require_approval` the subscriber then waits for an operator;
    otherwise it is active at once. From a Telegram chat, the chat is proven likewise.
    """
    who = contacts.address(who)
    source = who.source
    at = _citizen_time(source, when)
    when = _clamped(when)
    subscriber, created = contacts.get_or_create_locked(org, who)
    if not who.is_phone:
        subscriber.contacts.filter(kind=who.kind, verified_at=None).update(verified_at=when)
    if _stale(subscriber, at):
        return Change(subscriber, changed=False, stale=True)
    if subscriber.status == S.ACTIVE:
        return _unchanged(subscriber, at)
    if subscriber.status == S.PENDING and subscriber.confirmed_at:
        return _unchanged(subscriber, at)  # proven, waiting for the operator
    web_pending = not created and subscriber.status == S.PENDING
    if at is not None:
        _advance(subscriber, at)
    subscriber.confirmed_at = when
    if zone is not None:
        subscriber.zone = zone
    if org.require_approval:
        subscriber.status = S.PENDING
        subscriber.confirmation_code = ""
    else:
        _activate(subscriber, when)
        subscriber.approved_at = when
    subscriber.save()
    if not web_pending:
        subscriber.topics.set(topics if topics is not None else org.topics.all())
        record(org, subscriber, A.SUBSCRIBE, source, evidence=evidence, when=when, who=who)
    else:
        if topics is not None:
            subscriber.topics.set(topics)
        record(org, subscriber, A.CONFIRM, source, evidence=evidence, when=when, who=who)
    return Change(subscriber, changed=True)


@transaction.atomic
def approve(org: Organization, who: str | Address, *, actor_label: str) -> Change | None:
    """An operator lets a proven number in (comuni that want four eyes on sign-ups)."""
    subscriber = contacts.locked(org, who)
    if subscriber is None or subscriber.status != S.PENDING or not subscriber.confirmed_at:
        return None
    now = timezone.now()
    _activate(subscriber, now)
    subscriber.approved_at = now
    subscriber.save()
    record(
        org,
        subscriber,
        A.APPROVE,
        ConsentEvent.Source.OPERATOR,
        evidence={"operator": actor_label},
        when=now,
    )
    from banditore.broadcasts.direct import notice
    from banditore.subscribers import replies

    # Days may have passed since they wrote: the welcome goes out as the template, whose
    # own body already says how to leave, so the welcome's lines that say it are left out.
    welcome = replies.text(org, "welcome_text")
    kept = [line for line in welcome.splitlines() if not replies.mentions_leaving(line)]
    topics = ", ".join(t.name for t in subscriber.topics.all()) or "-"
    chosen = replies.text(org, "chosen_text", topics=topics)
    notice(subscriber, replies.join(*kept, chosen))
    return Change(subscriber, changed=True)


@transaction.atomic
def set_topics(
    subscriber: Subscriber,
    topics: list[Topic],
    *,
    source: str,
    evidence: dict,
    when: datetime | None = None,
) -> Change:
    at = _citizen_time(source, when)
    when = _clamped(when)
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if _stale(subscriber, at):
        return Change(subscriber, changed=False, stale=True)
    before = set(subscriber.topics.values_list("id", flat=True))
    if before == {t.id for t in topics}:
        return _unchanged(subscriber, at)
    if at is not None:
        _advance(subscriber, at)
        subscriber.save(update_fields=["last_command_at"])
    subscriber.topics.set(topics)
    record(subscriber.organization, subscriber, A.TOPICS, source, evidence=evidence, when=when)
    return Change(subscriber, changed=True)


@transaction.atomic
def unsubscribe(
    org: Organization,
    who: str | Address,
    *,
    source: str,
    evidence: dict,
    when: datetime | None = None,
) -> Change | None:
    """Stop everything for a number at once: queued and held broadcasts and notices to it
    are skipped. This is also what the provider's opt-out signals call (source "provider").

    None for a number never seen, except from the citizen's own phone: then an
    unsubscribed row keeps the time of their CANCELLAMI, so that a sign-up they wrote
    before it, delivered late, can't subscribe them.
    """
    who = contacts.address(who)
    at = _citizen_time(source, when)
    when = _clamped(when)
    created = False
    if at is None:
        subscriber = contacts.locked(org, who)
        if subscriber is None:
            return None
    else:
        subscriber, created = contacts.get_or_create_locked(
            org, who, defaults={"status": S.UNSUBSCRIBED}
        )
    if _stale(subscriber, at):
        return Change(subscriber, changed=False, stale=True)
    if subscriber.status == S.UNSUBSCRIBED and not created:
        return _unchanged(subscriber, at)
    _advance(subscriber, at or _server_time())
    subscriber.status = S.UNSUBSCRIBED
    subscriber.unsubscribed_at = when
    subscriber.confirmation_code = ""
    subscriber.save(
        update_fields=["status", "unsubscribed_at", "confirmation_code", "last_command_at"]
    )
    skip_pending_messages(Q(subscriber=subscriber), SKIP.UNSUBSCRIBED, timezone.now())
    record(org, subscriber, A.UNSUBSCRIBE, source, evidence=evidence, when=when, who=who)
    return Change(subscriber, changed=True)


@transaction.atomic
def mark_unreachable(
    org: Organization, subscriber_ids: Iterable[int], *, source: str, evidence: dict
) -> int:
    """The provider says these numbers can't receive messages (131026 & co.): each active
    one becomes unreachable, with its consent event, and what was queued or held for it
    is skipped. Set-based: a broadcast may find hundreds at a time. Returns how many."""
    now = timezone.now()
    found = list(
        Subscriber.objects.select_for_update()
        .filter(organization=org, pk__in=list(subscriber_ids), status=S.ACTIVE)
        .prefetch_related("topics", "zone")
        .order_by("pk")
    )
    if not found:
        return 0
    for subscriber in found:
        subscriber.status = S.UNREACHABLE
        _advance(subscriber, _server_time())
    Subscriber.objects.bulk_update(found, ["status", "last_command_at"])
    ConsentEvent.objects.bulk_create(
        _event(
            org,
            subscriber,
            A.UNREACHABLE,
            source,
            topics=[t.slug for t in subscriber.topics.all()],
            evidence=evidence,
            when=now,
        )
        for subscriber in found
    )
    skip_pending_messages(Q(subscriber__in=[s.pk for s in found]), SKIP.UNREACHABLE, now)
    return len(found)
