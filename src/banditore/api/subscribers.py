"""Read-only subscribers: find one by number, read it. No writes: a subscriber's state
changes only through the subscription service, by the citizen."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from banditore.api.errors import ApiError
from banditore.api.keys import need
from banditore.core.phone import InvalidNumber, to_e164
from banditore.subscribers.models import Subscriber

router = Router(tags=["subscribers"])


class SubscriberOut(Schema):
    id: int
    phone: str
    status: str
    topics: list[str]
    zone: str | None
    subscribed_at: datetime | None


def _out(subscriber: Subscriber) -> dict:
    return {
        "id": subscriber.pk,
        "phone": subscriber.phone,
        "status": subscriber.status,
        "topics": [t.slug for t in subscriber.topics.all()],
        "zone": subscriber.zone.slug if subscriber.zone else None,
        "subscribed_at": subscriber.subscribed_at,
    }


def _of(key):
    return Subscriber.objects.filter(organization=key.organization).select_related("zone")


@router.get("", response=list[SubscriberOut], summary="Find a subscriber by number")
def search(request, number: str):
    """Scope: `subscribers:read`. The number in any format (`333 123 4567`, `+39…`, `0039…`);
    an empty list if the comune has no subscriber with it."""
    key = need(request, "subscribers:read")
    try:
        phone = to_e164(number)
    except InvalidNumber as exc:
        raise ApiError(422, "invalid_number", _("Not a valid phone number.")) from exc
    return [_out(s) for s in _of(key).filter(phone=phone).prefetch_related("topics")]


@router.get("/{int:subscriber_id}", response=SubscriberOut, summary="Read a subscriber")
def read(request, subscriber_id: int):
    """Scope: `subscribers:read`."""
    key = need(request, "subscribers:read")
    return _out(get_object_or_404(_of(key).prefetch_related("topics"), pk=subscriber_id))
