"""Where a broadcast's sending stands, live: counts, what went wrong, how fast, and when it
ends, including the part WhatsApp's messaging limit holds back and the moment it may go.

Read by `banditore broadcast status` and `GET /api/broadcasts/{id}/status`. A handful of
grouped queries over the broadcast's deliveries (the delivery_broadcast_status index), none
of which brings rows to Python.
"""

import datetime
import math
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from banditore.broadcasts import audience, cost, window
from banditore.broadcasts.models import Broadcast, Delivery

# The send rate "now": messages the provider accepted in this many seconds, per second.
RATE_SECONDS = 30
S = Delivery.Status


@dataclass(frozen=True)
class Failure:
    code: int | None
    title: str
    count: int

    def as_dict(self) -> dict:
        return {"code": self.code, "title": self.title, "count": self.count}


@dataclass(frozen=True)
class Progress:
    broadcast_id: int
    status: str
    at: datetime.datetime
    counts: dict[str, int]
    failed: tuple[Failure, ...]
    skipped: dict[str, int]
    # Messages accepted per second lately, and the channel's cap.
    rate: float
    cap: int
    # Not finished yet: queued, in flight or held (a paused broadcast's rows).
    remaining: int
    # Of those: held back by the messaging limit until `tier_until`, or waiting for a retry.
    tier_waiting: int
    tier_until: datetime.datetime | None
    retrying: int

    @property
    def pace(self) -> float:
        """The rate the rest can go at: the channel's cap, or slower if that is what the
        provider lately allows."""
        return min(self.cap, self.rate) if self.rate > 0 else float(self.cap)

    @property
    def ready(self) -> int:
        """What can go now: not held by the limit (retries go within minutes: counted)."""
        return max(0, self.remaining - self.tier_waiting)

    @property
    def eta_seconds(self) -> float | None:
        """Seconds until what can go now has gone; None when nothing is being sent."""
        if self.status != Broadcast.Status.SENDING or not self.ready:
            return None
        return self.ready / self.pace

    @property
    def eta(self) -> datetime.datetime | None:
        seconds = self.eta_seconds
        return None if seconds is None else self.at + datetime.timedelta(seconds=seconds)

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {
            "counts": self.counts,
            "failed_by_error": [f.as_dict() for f in self.failed],
            "skipped_by_reason": self.skipped,
            "rate_per_second": round(self.rate, 2),
            "cap_per_second": self.cap,
            "remaining": self.remaining,
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
            "eta": self.eta.isoformat() if self.eta else None,
            "tier_waiting": self.tier_waiting,
            "tier_until": self.tier_until.isoformat() if self.tier_until else None,
            "retrying": self.retrying,
        }


def progress(broadcast: Broadcast, now: datetime.datetime | None = None) -> Progress:
    now = now or timezone.now()
    deliveries = Delivery.objects.filter(broadcast=broadcast, kind=Delivery.Kind.BROADCAST)
    counts = audience.status_counts(broadcast)
    failed = tuple(
        Failure(row["error_code"], row["error_title"], row["n"])
        for row in deliveries.filter(status=S.FAILED)
        .values("error_code", "error_title")
        .annotate(n=Count("pk"))
        .order_by("-n", "error_code")
    )
    skipped = {
        row["skip_reason"]: row["n"]
        for row in deliveries.filter(status=S.SKIPPED)
        .values("skip_reason")
        .annotate(n=Count("pk"))
        .order_by("-n")
    }
    # Over the last RATE_SECONDS, or since the start if it started less long ago.
    started = broadcast.started_at or now
    span = min(RATE_SECONDS, max(1.0, (now - started).total_seconds()))
    recent = deliveries.filter(sent_at__gt=now - datetime.timedelta(seconds=span)).count()
    later = Q(status=S.QUEUED, next_attempt_at__gt=now)
    tier = Q(error_code=window.WAITING_FOR_TIER)
    waiting = deliveries.filter(later).aggregate(
        tier=Count("pk", filter=tier),
        until=Min("next_attempt_at", filter=tier),
        retrying=Count("pk", filter=~tier),
    )
    return Progress(
        broadcast_id=broadcast.pk,
        status=broadcast.status,
        at=now,
        counts=counts,
        failed=failed,
        skipped=skipped,
        rate=recent / span,
        cap=broadcast.channel.rate_per_second,
        remaining=counts[S.QUEUED] + counts[S.SENDING] + counts[S.HELD],
        tier_waiting=waiting["tier"],
        tier_until=waiting["until"],
        retrying=waiting["retrying"],
    )


def _when(moment: datetime.datetime, now: datetime.datetime, zone) -> str:
    """HH:MM in the comune's time, with the date when it is not today."""
    local, today = moment.astimezone(zone), now.astimezone(zone)
    return local.strftime("%H:%M" if local.date() == today.date() else "%d/%m/%Y %H:%M")


def _n(value: int) -> str:
    return number_format(value, force_grouping=True)


def describe(p: Progress, time_zone: str) -> list[str]:
    """The progress as an operator reads it, one line each, in the active language."""
    zone = zoneinfo.ZoneInfo(time_zone)
    lines = []
    if p.failed:
        lines.append(_("Failed, by error:"))
        for f in p.failed:
            code = "" if f.code is None else f"({f.code}) "
            lines.append(f"  {code}{f.title}: {_n(f.count)}")
    if p.skipped:
        lines.append(_("Skipped, by reason:"))
        for reason, count in p.skipped.items():
            label = Delivery.SkipReason(reason).label if reason else reason
            lines.append(f"  {label}: {_n(count)}")
    if p.status == Broadcast.Status.SENDING or p.rate:
        lines.append(
            _("Sending rate: %(rate)s msg/s (the channel's maximum is %(cap)s)")
            % {"rate": number_format(round(p.rate, 1), 1), "cap": _n(p.cap)}
        )
    if p.eta is not None:
        lines.append(
            _("Still to send: %(count)s; expected to end at %(time)s (in %(duration)s)")
            % {
                "count": _n(p.ready),
                "time": _when(p.eta, p.at, zone),
                "duration": cost.format_duration(math.ceil(p.eta_seconds)),
            }
        )
    if p.tier_waiting:
        lines.append(
            ngettext(
                "Waiting for WhatsApp's messaging limit until %(time)s: %(count)s recipient",
                "Waiting for WhatsApp's messaging limit until %(time)s: %(count)s recipients",
                p.tier_waiting,
            )
            % {"time": _when(p.tier_until, p.at, zone), "count": _n(p.tier_waiting)}
        )
    if p.retrying:
        lines.append(_("Waiting to be tried again: %(count)s") % {"count": _n(p.retrying)})
    return lines
