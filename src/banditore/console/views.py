"""The dashboard: subscribers, the last sends, the month's cost, what needs attention."""

import datetime

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from banditore.broadcasts import cost
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.channels.models import Channel, MessageTemplate
from banditore.console.access import staff
from banditore.subscribers.models import Subscriber
from banditore.webhooks.models import WebhookEvent

RECENT_DAYS = 28
SERIES_DAYS = 90
# The messaging tier is "nearly used" past this share of its 24-hour places.
TIER_WARNING = 0.8
D = Delivery.Status


def _recent_sends(org):
    since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    rows = (
        Broadcast.objects.filter(organization=org, started_at__gte=since)
        .order_by("-started_at")
        .annotate(
            n_sent=Count(
                "deliveries",
                filter=Q(
                    deliveries__status__in=[D.SENT, D.DELIVERED, D.READ],
                    deliveries__kind="broadcast",
                ),
            ),
            n_delivered=Count(
                "deliveries",
                filter=Q(
                    deliveries__status__in=[D.DELIVERED, D.READ], deliveries__kind="broadcast"
                ),
            ),
            n_read=Count(
                "deliveries", filter=Q(deliveries__status=D.READ, deliveries__kind="broadcast")
            ),
        )[:20]
    )
    sends = []
    for b in rows:
        sends.append(
            {
                "broadcast": b,
                "delivered_rate": round(100 * b.n_delivered / b.n_sent) if b.n_sent else None,
                "read_rate": round(100 * b.n_read / b.n_sent) if b.n_sent else None,
            }
        )
    return sends


def _tiers(org):
    nearly = []
    for channel in Channel.objects.filter(organization=org):
        remaining = cost.tier_remaining(channel)
        if remaining is None:
            continue
        used = cost.business_recipients_24h(channel)
        limit = used + remaining
        if limit and used / limit >= TIER_WARNING:
            nearly.append({"channel": channel, "used": used, "limit": limit})
    return nearly


@staff()
def dashboard(request):
    org = request.operator.organization
    spent = cost.month_spent(org)
    budget = org.monthly_budget
    context = {
        "subscribers": Subscriber.objects.filter(
            organization=org, status=Subscriber.Status.ACTIVE
        ).count(),
        "sends": _recent_sends(org),
        "spent": cost.money(spent),
        "budget": cost.money(budget) if budget is not None else None,
        "budget_percent": min(100, round(100 * spent / budget)) if budget else None,
        "waiting": Broadcast.objects.filter(
            organization=org, status=Broadcast.Status.SUBMITTED
        ).order_by("submitted_at"),
        "paused_channels": Channel.objects.filter(organization=org, status=Channel.Status.PAUSED),
        "stopped_templates": MessageTemplate.objects.filter(channel__organization=org)
        .exclude(status__in=[MessageTemplate.APPROVED, "PENDING"])
        .select_related("channel"),
        "tiers": _tiers(org),
        "dead_letters": WebhookEvent.objects.filter(
            channel__organization=org, status=WebhookEvent.Status.DEAD
        ).count(),
    }
    return render(request, "console/dashboard.html", context)


@staff()
def subscribers_series(request):
    """Active subscribers day by day over the last months, for the dashboard's chart:
    who joined by then minus who left by then."""
    org = request.operator.organization
    today = timezone.localdate()
    first = today - datetime.timedelta(days=SERIES_DAYS - 1)
    subscribers = Subscriber.objects.filter(organization=org)
    joined = dict(
        subscribers.filter(subscribed_at__date__gte=first)
        .annotate(day=TruncDate("subscribed_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    left = dict(
        subscribers.filter(unsubscribed_at__date__gte=first, subscribed_at__isnull=False)
        .annotate(day=TruncDate("unsubscribed_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    before = (
        subscribers.filter(subscribed_at__date__lt=first)
        .exclude(unsubscribed_at__date__lt=first)
        .count()
    )
    days, counts, level = [], [], before
    for offset in range(SERIES_DAYS):
        day = first + datetime.timedelta(days=offset)
        level += joined.get(day, 0) - left.get(day, 0)
        days.append(int(datetime.datetime.combine(day, datetime.time()).timestamp()))
        counts.append(level)
    return JsonResponse({"days": days, "active": counts})
