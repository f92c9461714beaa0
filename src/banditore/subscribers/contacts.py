"""How a citizen is found: by their WhatsApp number, or by another contact of theirs.

A subscriber is one person. Their WhatsApp number is `Subscriber.phone`; a Telegram chat or
an e-mail address is a `Contact` row. Everything that starts from what a message or a form
gives us (a number, a chat id) names it as an `Address`; a bare string is a WhatsApp number,
as every caller that predates the other kinds passes it.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from banditore.core.models import Organization
from banditore.core.phone import phone_hash
from banditore.subscribers.models import ConsentEvent, Contact, Subscriber

WHATSAPP = "whatsapp"


@dataclass(frozen=True)
class Address:
    kind: str  # a Channel.Kind value
    value: str

    @property
    def is_phone(self) -> bool:
        return self.kind == WHATSAPP

    @property
    def source(self) -> str:
        """The consent source of the citizen's own message from this address."""
        return ConsentEvent.Source(self.kind)

    def proof_hash(self) -> str:
        """What a consent event keeps of the address once the person is erased."""
        return phone_hash(self.value if self.is_phone else f"{self.kind}:{self.value}")


def address(who: "str | Address") -> Address:
    return who if isinstance(who, Address) else Address(WHATSAPP, who)


def of(org: Organization, who: "str | Address") -> QuerySet[Subscriber]:
    who = address(who)
    if who.is_phone:
        return Subscriber.objects.filter(organization=org, phone=who.value)
    return Subscriber.objects.filter(
        organization=org, contacts__kind=who.kind, contacts__address=who.value
    )


def locked(org: Organization, who: "str | Address") -> Subscriber | None:
    # of=("self",): on PostgreSQL, lock the subscriber's row, not the joined contact's.
    return of(org, who).select_for_update(of=("self",)).first()


def get_or_create_locked(
    org: Organization, who: "str | Address", defaults: dict | None = None
) -> tuple[Subscriber, bool]:
    """The subscriber at this address, locked; a new one (and its contact) if none.
    Call inside a transaction."""
    who = address(who)
    if who.is_phone:
        return Subscriber.objects.select_for_update().get_or_create(
            organization=org, phone=who.value, defaults=defaults or {}
        )
    found = locked(org, who)
    if found is not None:
        return found, False
    try:
        # Two first messages from one chat, taken by two workers: the contact's unique
        # constraint lets one create it; the other finds it.
        with transaction.atomic():
            subscriber = Subscriber.objects.create(organization=org, **(defaults or {}))
            Contact.objects.create(
                organization=org, subscriber=subscriber, kind=who.kind, address=who.value
            )
    except IntegrityError:
        found = locked(org, who)
        if found is None:
            raise
        return found, False
    return subscriber, True


def addresses(subscriber: Subscriber) -> list[Address]:
    """Every address of theirs: the number first, then their other contacts."""
    found = [Address(WHATSAPP, subscriber.phone)] if subscriber.phone else []
    found += [Address(c.kind, c.address) for c in subscriber.contacts.order_by("id")]
    return found


def first_address(subscriber: Subscriber) -> Address:
    """Their number, or else their oldest other contact (one query only then)."""
    if subscriber.phone:
        return Address(WHATSAPP, subscriber.phone)
    other = subscriber.contacts.order_by("id").first()
    return Address(other.kind, other.address) if other else Address(WHATSAPP, "")
