"""Subscription changes. Every change writes its ConsentEvent in the same transaction.

A subscriber's life: a web sign-up is *pending* until a WhatsApp message from the number
proves it (`confirm_number`); a keyword from WhatsApp proves the number at once. If the
comune wants four eyes (`require_approval`), a proven number still waits for an operator
(`approve`). Then it is *active*, until *unsubscribed* (or found *unreachable*).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from banditore.core.models import Organization
from banditore.core.phone import phone_hash
from banditore.subscribers.models import ConsentEvent, Subscriber, Topic, Zone

S = Subscriber.Status
A = ConsentEvent.Action
# Unambiguous when read aloud or typed on a phone: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Change:
    subscriber: Subscriber
    # False when the request changed nothing (already subscribed / already gone).
    changed: bool


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
) -> ConsentEvent:
    """Append the proof of a change, with the subscription's scope as it now stands."""
    return ConsentEvent.objects.create(
        organization=org,
        subscriber=subscriber,
        phone=subscriber.phone,
        phone_hash=phone_hash(subscriber.phone),
        action=action,
        source=source,
        notice_version=org.privacy_notice_version,
        topics=sorted(subscriber.topics.values_list("slug", flat=True)),
        zone=subscriber.zone.slug if subscriber.zone_id else "",
        evidence=evidence,
        ip=ip,
        user_agent=user_agent[:300],
        occurred_at=when or timezone.now(),
    )


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _locked(org: Organization, phone: str) -> Subscriber | None:
    return Subscriber.objects.select_for_update().filter(organization=org, phone=phone).first()


def _activate(subscriber: Subscriber, when: datetime) -> None:
    subscriber.status = S.ACTIVE
    subscriber.subscribed_at = when
    subscriber.unsubscribed_at = None
    subscriber.confirmation_code = ""


@transaction.atomic
def subscribe(
    org: Organization,
    phone: str,
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
    when = when or timezone.now()
    subscriber, _ = Subscriber.objects.select_for_update().get_or_create(
        organization=org, phone=phone
    )
    if subscriber.status == S.ACTIVE:
        return Change(subscriber, changed=False)
    _activate(subscriber, when)
    subscriber.confirmed_at = subscriber.confirmed_at or when
    subscriber.approved_at = subscriber.approved_at or when
    subscriber.zone = zone or subscriber.zone
    subscriber.name = name or subscriber.name
    subscriber.save()
    subscriber.topics.set(topics if topics is not None else org.topics.all())
    record(org, subscriber, A.SUBSCRIBE, source, evidence=evidence, when=when)
    return Change(subscriber, changed=True)


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
    """A web form sign-up: recorded at once, active only once the number proves itself."""
    now = timezone.now()
    subscriber, _ = Subscriber.objects.select_for_update().get_or_create(
        organization=org, phone=phone
    )
    if subscriber.status == S.ACTIVE:
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
    phone: str,
    *,
    evidence: dict,
    when: datetime | None = None,
    zone: Zone | None = None,
    topics: list[Topic] | None = None,
) -> Change:
    """A sign-up keyword arrived from the number itself: that proves it.

    A pending web sign-up keeps the topics and zone chosen on the form; otherwise this is
    a fresh WhatsApp sign-up. With `require_approval` the subscriber then waits for an
    operator; otherwise it is active at once.
    """
    when = when or timezone.now()
    source = ConsentEvent.Source.WHATSAPP
    subscriber = _locked(org, phone)
    if subscriber is not None and subscriber.status == S.ACTIVE:
        return Change(subscriber, changed=False)
    if subscriber is not None and subscriber.status == S.PENDING and subscriber.confirmed_at:
        return Change(subscriber, changed=False)  # proven, waiting for the operator
    web_pending = subscriber is not None and subscriber.status == S.PENDING
    if subscriber is None:
        subscriber = Subscriber.objects.create(organization=org, phone=phone)
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
        record(org, subscriber, A.SUBSCRIBE, source, evidence=evidence, when=when)
    else:
        if topics is not None:
            subscriber.topics.set(topics)
        record(org, subscriber, A.CONFIRM, source, evidence=evidence, when=when)
    return Change(subscriber, changed=True)


@transaction.atomic
def approve(org: Organization, phone: str, *, actor_label: str) -> Change | None:
    """An operator lets a proven number in (comuni that want four eyes on sign-ups)."""
    subscriber = _locked(org, phone)
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

    # Days may have passed since they wrote: the welcome goes out as the template.
    notice(subscriber, org.render(org.welcome_text))
    return Change(subscriber, changed=True)


@transaction.atomic
def set_topics(
    subscriber: Subscriber, topics: list[Topic], *, source: str, evidence: dict
) -> Change:
    before = set(subscriber.topics.values_list("id", flat=True))
    if before == {t.id for t in topics}:
        return Change(subscriber, changed=False)
    subscriber.topics.set(topics)
    record(subscriber.organization, subscriber, A.TOPICS, source, evidence=evidence)
    return Change(subscriber, changed=True)


@transaction.atomic
def unsubscribe(
    org: Organization, phone: str, *, source: str, evidence: dict, when: datetime | None = None
) -> Change | None:
    """Stop everything for a number at once: queued broadcast deliveries are dropped too."""
    from banditore.broadcasts.models import Delivery
    from banditore.dispatch import queries

    when = when or timezone.now()
    subscriber = _locked(org, phone)
    if subscriber is None:
        return None
    if subscriber.status == S.UNSUBSCRIBED:
        return Change(subscriber, changed=False)
    subscriber.status = S.UNSUBSCRIBED
    subscriber.unsubscribed_at = when
    subscriber.confirmation_code = ""
    subscriber.save(update_fields=["status", "unsubscribed_at", "confirmation_code"])
    dropped = Delivery.objects.filter(
        subscriber=subscriber,
        kind__in=[Delivery.Kind.BROADCAST, Delivery.Kind.NOTICE],
        status=Delivery.Status.QUEUED,
    )
    broadcasts = set(dropped.exclude(broadcast=None).values_list("broadcast_id", flat=True))
    dropped.update(status=Delivery.Status.FAILED, error_title="unsubscribed", failed_at=when)
    # The dropped message may have been a broadcast's last one.
    queries.finish_broadcasts(broadcasts, when)
    record(org, subscriber, A.UNSUBSCRIBE, source, evidence=evidence, when=when)
    return Change(subscriber, changed=True)
