"""Privacy rights: a subscriber's data (art. 15/20) and erasure (art. 17).

Erasure removes the number and everything that could lead back to it; what remains is the
proof that consent was given and withdrawn (timestamps, notice version, channel) keyed by a
keyed hash of the number, until the comune's retention period purges it too.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from banditore.broadcasts.models import Delivery
from banditore.core.models import Organization, audit
from banditore.subscribers import contacts, service
from banditore.subscribers.contacts import Address
from banditore.subscribers.models import ConsentEvent, Subscriber
from banditore.webhooks.models import InboundMessage

EXPORT_SALT = "banditore.subscribers.export"
EXPORT_MAX_AGE = timedelta(days=7)
# Unsubscribed numbers are erased this long after they left (italy-context §2.5: erase
# contact data on opt-out; the grace lets an accidental CANCELLAMI be undone).
UNSUBSCRIBED_GRACE = timedelta(days=30)


def export_token(subscriber: Subscriber) -> str:
    return signing.TimestampSigner(salt=EXPORT_SALT).sign(str(subscriber.pk))


def export_url(subscriber: Subscriber) -> str:
    return f"{settings.PUBLIC_URL}/dati/{export_token(subscriber)}"


def subscriber_from_token(token: str) -> Subscriber | None:
    """The subscriber a data link was made for, or None if forged or expired."""
    try:
        pk = signing.TimestampSigner(salt=EXPORT_SALT).unsign(token, max_age=EXPORT_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return Subscriber.objects.filter(pk=pk).select_related("organization", "zone").first()


def _iso(value):
    return value.isoformat() if value else None


def export_data(subscriber: Subscriber) -> dict:
    """Everything held about one subscriber, machine-readable."""
    consent = subscriber.consent_events.order_by("occurred_at", "id")
    deliveries = subscriber.deliveries.select_related("broadcast").order_by("id")
    return {
        "comune": subscriber.organization.name,
        "numero": subscriber.phone,
        "nome": subscriber.name,
        "stato": subscriber.status,
        "zona": subscriber.zone.name if subscriber.zone_id else None,
        "temi": [t.name for t in subscriber.topics.all()],
        "contatti": [
            {"tipo": c.kind, "indirizzo": c.address, "verificato_il": _iso(c.verified_at)}
            for c in subscriber.contacts.order_by("id")
        ],
        "iscritto_dal": _iso(subscriber.subscribed_at),
        "cancellato_il": _iso(subscriber.unsubscribed_at),
        "consensi": [
            {
                "data": _iso(e.occurred_at),
                "azione": e.action,
                "canale": e.source,
                "versione_informativa": e.notice_version,
                "temi": e.topics,
                "zona": e.zone,
                "ip": e.ip,
            }
            for e in consent
        ],
        "messaggi": [
            {
                "data": _iso(d.created_at),
                "tipo": d.kind,
                "testo": d.broadcast.text if d.broadcast_id else d.text,
                "stato": d.status,
            }
            for d in deliveries
        ],
    }


def _reached_at(subscriber: Subscriber) -> str:
    if subscriber.phone:
        return f"numero {subscriber.phone}"
    return ", ".join(str(c) for c in subscriber.contacts.order_by("id"))


def summary(subscriber: Subscriber) -> str:
    """The short answer to I MIEI DATI on WhatsApp (Italian: it goes to a citizen)."""
    topics = ", ".join(t.name for t in subscriber.topics.all()) or "nessuno"
    zone = subscriber.zone.name if subscriber.zone_id else "nessuna"
    since = (
        timezone.localtime(subscriber.subscribed_at).strftime("%d/%m/%Y")
        if subscriber.subscribed_at
        else "-"
    )
    received = subscriber.deliveries.filter(kind=Delivery.Kind.BROADCAST).count()
    return (
        f"I tuoi dati presso il {subscriber.organization.name}:\n"
        f"{_reached_at(subscriber)}, stato {subscriber.get_status_display()}, "
        f"iscritto dal {since}\n"
        f"temi: {topics}; zona: {zone}; messaggi ricevuti: {received}\n"
        f"Tutti i dati e lo storico dei consensi (link valido 7 giorni): {export_url(subscriber)}"
    )


def _proof_of(addresses: list[Address]) -> Q:
    found = Q(pk__in=[])
    for a in addresses:
        found |= Q(phone=a.value) if a.is_phone else Q(contact_kind=a.kind, contact=a.value)
    return found


@transaction.atomic
def erase(org: Organization, who: str | Address, *, actor_label: str, actor=None) -> bool:
    """Erase a person, found by any address of theirs: personal data gone, pseudonymised
    proof kept for each of their addresses. False if unknown."""
    who = contacts.address(who)
    subscriber = contacts.locked(org, who)
    known = contacts.addresses(subscriber) if subscriber is not None else [who]
    known_proof = ConsentEvent.objects.filter(_proof_of(known), organization=org)
    if subscriber is None and not known_proof.exists():
        return False
    now = timezone.now()
    # The proof keeps what it proves (when, how, which notice) but nothing that identifies:
    # the raw evidence holds the citizen's words and wamids, which embed the number.
    known_proof.update(phone="", contact="", ip=None, user_agent="", evidence={"redacted": True})
    # Nothing queued can go once the addresses are blanked, replies included. Addresses of
    # different kinds never look alike (+39…, a chat's digits, name@domain).
    values = [a.value for a in known]
    to_them = Q(organization=org, recipient__in=values)
    if subscriber is not None:
        to_them |= Q(subscriber=subscriber)
    service.skip_pending_messages(
        to_them, Delivery.SkipReason.ERASED, now, kinds=tuple(Delivery.Kind.values)
    )
    Delivery.objects.filter(organization=org, recipient__in=values).update(recipient="", wamid=None)
    InboundMessage.objects.filter(organization=org, sender__in=values).delete()
    hashes = [a.proof_hash() for a in known]
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            organization=org,
            phone="",
            phone_hash=hashed,
            action=ConsentEvent.Action.ERASE,
            source=ConsentEvent.Source.SYSTEM
            if actor_label == "system"
            else ConsentEvent.Source.OPERATOR,
            notice_version=org.privacy_notice_version,
            evidence={"by": actor_label},
            occurred_at=now,
        )
        for hashed in hashes
    )
    if subscriber is not None:
        subscriber.delete()
    label = ",".join(f"hash:{h[:12]}" for h in hashes)
    audit(org, "subscriber.erased", label, actor=actor, label=actor_label)
    return True


def _erase_all(org: Organization, subscribers) -> int:
    return sum(
        erase(org, contacts.first_address(s), actor_label="system") for s in list(subscribers)
    )


def purge_expired(now=None) -> dict[str, int]:
    """The retention rules, applied: run daily by a periodic task."""
    now = now or timezone.now()
    counts = {"signups": 0, "unsubscribed": 0, "inbound": 0, "proof": 0}
    for org in Organization.objects.all():
        stale = Subscriber.objects.filter(
            organization=org,
            status=Subscriber.Status.PENDING,
            confirmed_at__isnull=True,
            created_at__lt=now - timedelta(days=org.signup_expiry_days),
        )
        counts["signups"] += _erase_all(org, stale)
        gone = Subscriber.objects.filter(
            organization=org,
            status=Subscriber.Status.UNSUBSCRIBED,
            unsubscribed_at__lt=now - UNSUBSCRIBED_GRACE,
        )
        counts["unsubscribed"] += _erase_all(org, gone)
        counts["inbound"] += InboundMessage.objects.filter(
            organization=org, received_at__lt=now - timedelta(days=org.inbound_retention_days)
        ).delete()[0]
        # Erased people's proof: neither a number nor another contact is left on it.
        counts["proof"] += ConsentEvent.objects.filter(
            organization=org,
            phone="",
            contact="",
            occurred_at__lt=now - timedelta(days=org.proof_retention_days),
        ).delete()[0]
    return counts
