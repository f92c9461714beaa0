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
from banditore.core.phone import phone_hash
from banditore.subscribers import service
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
        f"numero {subscriber.phone}, stato {subscriber.get_status_display()}, "
        f"iscritto dal {since}\n"
        f"temi: {topics}; zona: {zone}; messaggi ricevuti: {received}\n"
        f"Tutti i dati e lo storico dei consensi (link valido 7 giorni): {export_url(subscriber)}"
    )


@transaction.atomic
def erase(org: Organization, phone: str, *, actor_label: str, actor=None) -> bool:
    """Erase a number: personal data gone, pseudonymised proof kept. False if unknown."""
    subscriber = (
        Subscriber.objects.select_for_update().filter(organization=org, phone=phone).first()
    )
    known_proof = ConsentEvent.objects.filter(organization=org, phone=phone)
    if subscriber is None and not known_proof.exists():
        return False
    hashed = phone_hash(phone)
    now = timezone.now()
    # The proof keeps what it proves (when, how, which notice) but nothing that identifies:
    # the raw evidence holds the citizen's words and wamids, which embed the number.
    known_proof.update(phone="", ip=None, user_agent="", evidence={"redacted": True})
    # Nothing queued can go once the number is blanked, replies included.
    to_them = Q(organization=org, recipient=phone)
    if subscriber is not None:
        to_them |= Q(subscriber=subscriber)
    service.skip_pending_messages(
        to_them, Delivery.SkipReason.ERASED, now, kinds=tuple(Delivery.Kind.values)
    )
    Delivery.objects.filter(organization=org, recipient=phone).update(recipient="", wamid=None)
    InboundMessage.objects.filter(organization=org, sender=phone).delete()
    ConsentEvent.objects.create(
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
    if subscriber is not None:
        subscriber.delete()
    audit(org, "subscriber.erased", f"hash:{hashed[:12]}", actor=actor, label=actor_label)
    return True


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
        for phone in stale.values_list("phone", flat=True):
            counts["signups"] += erase(org, phone, actor_label="system")
        gone = Subscriber.objects.filter(
            organization=org,
            status=Subscriber.Status.UNSUBSCRIBED,
            unsubscribed_at__lt=now - UNSUBSCRIBED_GRACE,
        )
        for phone in gone.values_list("phone", flat=True):
            counts["unsubscribed"] += erase(org, phone, actor_label="system")
        counts["inbound"] += InboundMessage.objects.filter(
            organization=org, received_at__lt=now - timedelta(days=org.inbound_retention_days)
        ).delete()[0]
        counts["proof"] += ConsentEvent.objects.filter(
            organization=org,
            phone="",
            occurred_at__lt=now - timedelta(days=org.proof_retention_days),
        ).delete()[0]
    return counts
