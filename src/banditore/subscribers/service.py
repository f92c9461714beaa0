"""Subscription changes. Every change writes its ConsentEvent in the same transaction."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from banditore.core.models import Organization
from banditore.core.phone import phone_hash
from banditore.subscribers.models import ConsentEvent, Subscriber


@dataclass(frozen=True)
class Change:
    subscriber: Subscriber
    # False when the request changed nothing (already subscribed / already gone).
    changed: bool


def _record(org, subscriber, action, source, when, evidence, **extra) -> None:
    ConsentEvent.objects.create(
        organization=org,
        subscriber=subscriber,
        phone=subscriber.phone,
        phone_hash=phone_hash(subscriber.phone),
        action=action,
        source=source,
        notice_version=org.privacy_notice_version,
        topics=sorted(subscriber.topics.values_list("slug", flat=True)),
        evidence=evidence,
        occurred_at=when,
        **extra,
    )


@transaction.atomic
def subscribe(
    org: Organization,
    phone: str,
    *,
    source: str,
    evidence: dict,
    when: datetime | None = None,
    topics=None,
) -> Change:
    """Activate a number; without a topic choice it follows every topic of the comune."""
    when = when or timezone.now()
    subscriber, _ = Subscriber.objects.select_for_update().get_or_create(
        organization=org, phone=phone
    )
    if subscriber.status == Subscriber.Status.ACTIVE:
        return Change(subscriber, changed=False)
    subscriber.status = Subscriber.Status.ACTIVE
    subscriber.subscribed_at = when
    subscriber.unsubscribed_at = None
    subscriber.save(update_fields=["status", "subscribed_at", "unsubscribed_at"])
    subscriber.topics.set(topics if topics is not None else org.topics.all())
    _record(org, subscriber, ConsentEvent.Action.SUBSCRIBE, source, when, evidence)
    return Change(subscriber, changed=True)


@transaction.atomic
def unsubscribe(
    org: Organization, phone: str, *, source: str, evidence: dict, when: datetime | None = None
) -> Change | None:
    """Stop everything for a number at once: queued broadcast deliveries are dropped too."""
    from banditore.broadcasts.models import Delivery

    when = when or timezone.now()
    subscriber = (
        Subscriber.objects.select_for_update().filter(organization=org, phone=phone).first()
    )
    if subscriber is None:
        return None
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        return Change(subscriber, changed=False)
    subscriber.status = Subscriber.Status.UNSUBSCRIBED
    subscriber.unsubscribed_at = when
    subscriber.save(update_fields=["status", "unsubscribed_at"])
    Delivery.objects.filter(
        subscriber=subscriber, kind=Delivery.Kind.BROADCAST, status=Delivery.Status.QUEUED
    ).update(status=Delivery.Status.FAILED, error_title="unsubscribed", failed_at=when)
    _record(org, subscriber, ConsentEvent.Action.UNSUBSCRIBE, source, when, evidence)
    return Change(subscriber, changed=True)
