"""What a broadcast will cost and how long it will take, before anyone presses "send".

Meta bills each delivered template message by the template's category and the recipient's
country; free text to a citizen whose 24-hour window is open costs nothing. The prices are
data: ratecard.json, shipped with its date and source, or the installation's own file in the
same format (BANDITORE_RATE_CARD), which replaces it whole so its date and source stay true.
Every count here is one grouped query: an audience of 300,000 never travels to Python.
"""

import datetime
import json
import math
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from banditore.broadcasts import audience, window
from banditore.broadcasts.models import Broadcast, Delivery
from banditore.broadcasts.window import BUSINESS_INITIATED
from banditore.channels.models import Channel

CATEGORIES = ("marketing", "utility", "authentication", "service")
# The card's row for every country it doesn't list.
OTHER = "other"
CENT = Decimal("0.01")
SHIPPED = Path(__file__).with_name("ratecard.json")
CARD_KEYS = {"valid_from", "currency", "source", "notes", "prices"}

# What Meta has accepted for delivery; "sent" without a receipt yet is counted as paid.
ACCEPTED = (Delivery.Status.SENT, Delivery.Status.DELIVERED, Delivery.Status.READ)
# Deliveries of a started broadcast that will never be paid.
NEVER_PAID = (Delivery.Status.SKIPPED, Delivery.Status.FAILED)

CATEGORY_NAMES = {
    "marketing": gettext_lazy("marketing"),
    "utility": gettext_lazy("utility"),
    "authentication": gettext_lazy("authentication"),
    "service": gettext_lazy("service"),
}
COUNTRY_NAMES = {"IT": gettext_lazy("Italy"), OTHER: gettext_lazy("other countries")}


class RateCardError(ValueError):
    """The rate card file can't be used; the message names the file and the line."""


@dataclass(frozen=True)
class RateCard:
    valid_from: datetime.date
    source: str
    prices: dict[str, dict[str, Decimal]]
    currency: str = "EUR"
    notes: str = ""

    def priced_as(self, country: str) -> str:
        return country if country in self.prices else OTHER

    def price(self, country: str, category: str) -> Decimal:
        return self.prices[self.priced_as(country)][category]


def _line_of(text: str, keys: Iterable[str]) -> int:
    """The line where the nested keys appear, searched one after the other: JSON parsers
    don't keep positions, and an administrator editing the file needs one."""
    lines = text.splitlines()
    found = 0
    for key in keys:
        needle = json.dumps(key)
        at = next((i for i in range(found, len(lines)) if needle in lines[i]), None)
        if at is None:
            break
        found = at
    return found + 1


class _Repeated(Exception):
    def __init__(self, key: str):
        self.key = key


def _no_repeats(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Repeated(key)
        seen[key] = value
    return seen


def _second_line_of(text: str, key: str) -> int:
    needle = json.dumps(key)
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[1] if len(hits) > 1 else (hits[0] if hits else 1)


def parse_rate_card(text: str, name: str = "ratecard.json") -> RateCard:
    def refuse(problem: str, *keys: str, line: int | None = None):
        where = line if line is not None else _line_of(text, keys)
        raise RateCardError(
            _("%(file)s, line %(line)s: %(problem)s")
            % {"file": name, "line": where, "problem": problem}
        )

    try:
        # Decimal from the start: a float would turn 0.057 into 0.05699999…
        data = json.loads(
            text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_no_repeats
        )
    except json.JSONDecodeError as exc:
        refuse(_("not valid JSON (%(error)s)") % {"error": exc.msg}, line=exc.lineno)
    except _Repeated as exc:
        # A country pasted twice would silently keep only its second prices.
        refuse(_("%(key)s appears twice") % {"key": exc.key}, line=_second_line_of(text, exc.key))
    if not isinstance(data, dict):
        refuse(_("the rate card must be a JSON object"), line=1)
    for key in sorted(set(data) - CARD_KEYS):
        refuse(_("unknown key %(key)s") % {"key": key}, key)
    for key in ("valid_from", "source", "prices"):
        if key not in data:
            refuse(_("%(key)s is missing") % {"key": key}, line=1)
    try:
        valid_from = datetime.date.fromisoformat(data["valid_from"])
    except (TypeError, ValueError):
        refuse(_("valid_from must be a date written YYYY-MM-DD"), "valid_from")
    if not isinstance(data["source"], str) or not data["source"].strip():
        refuse(_("source must say where the prices come from"), "source")
    if data.get("currency", "EUR") != "EUR":
        refuse(_("prices must be in EUR"), "currency")
    if not isinstance(data.get("notes", ""), str):
        refuse(_("notes must be text"), "notes")
    prices = data["prices"]
    if not isinstance(prices, dict):
        refuse(_("prices must map each country to its prices"), "prices")
    if OTHER not in prices:
        refuse(_('prices must include "other", for the countries not listed'), "prices")
    for country, row in prices.items():
        if country != OTHER and not (len(country) == 2 and country.isalpha() and country.isupper()):
            refuse(
                _('%(country)s is neither a country code (e.g. IT) nor "other"')
                % {"country": country},
                "prices",
                country,
            )
        if not isinstance(row, dict):
            refuse(_("the prices of %(country)s must be an object") % {"country": country},
                   "prices", country)  # fmt: skip
        for category in row:
            if category not in CATEGORIES:
                refuse(_("unknown category %(category)s") % {"category": category},
                       "prices", country, category)  # fmt: skip
        for category in CATEGORIES:
            if category not in row:
                refuse(_("%(country)s has no price for %(category)s")
                       % {"country": country, "category": category}, "prices", country)  # fmt: skip
            price = row[category]
            if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
                refuse(_("a price must be a number of euros, zero or more"),
                       "prices", country, category)  # fmt: skip
    return RateCard(
        valid_from=valid_from,
        source=data["source"].strip(),
        prices={country: dict(row) for country, row in prices.items()},
        currency="EUR",
        notes=data.get("notes", ""),
    )


def rate_card_path() -> Path:
    return Path(getattr(settings, "BANDITORE_RATE_CARD", None) or SHIPPED)


def load_rate_card(path: Path | str | None = None) -> RateCard:
    path = Path(path) if path else rate_card_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise RateCardError(
            _("%(file)s can't be read (%(error)s)") % {"file": path, "error": exc.strerror}
        ) from None
    # Read again only when the file changed: an administrator's edit applies at once.
    return _load(str(path), stamp)


@lru_cache(maxsize=8)
def _load(path: str, stamp: int) -> RateCard:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RateCardError(
            _("%(file)s can't be read (%(error)s)") % {"file": path, "error": exc}
        ) from None
    return parse_rate_card(text, name=path)


def category_of(broadcast: Broadcast | None) -> str:
    """The category Meta bills the broadcast's template at: the synced template's own, or
    marketing until the templates are synced (general news counts as marketing under Meta's
    rules: the dearer guess, never a surprise)."""
    from banditore.broadcasts import templating

    template = templating.template_of(broadcast) if broadcast is not None else None
    category = (template.category if template else "").lower()
    return category if category in ("marketing", "utility", "authentication") else "marketing"


def country_of_prefix(digits: str) -> str:
    """The ISO country of an E.164 number from its first three digits (country calling codes
    are a prefix code: exactly one of the 1-, 2- and 3-digit beginnings is assigned)."""
    for size in (1, 2, 3):
        code = digits[:size]
        if len(code) == size and code.isdigit():
            region = phonenumbers.region_code_for_country_code(int(code))
            if region not in (phonenumbers.UNKNOWN_REGION, "001"):
                return region
    return OTHER


def _prefix_counts(rows, *keys: str) -> dict[tuple, tuple[int, int]]:
    """(key…, country) -> (all, in a free window), summed over the calling-code prefixes."""
    counts: dict[tuple, tuple[int, int]] = {}
    for row in rows:
        key = (*(row[k] for k in keys), country_of_prefix(row["prefix"] or ""))
        n, free = counts.get(key, (0, 0))
        counts[key] = (n + row["n"], free + row["free"])
    return counts


def _grouped(queryset, phone_field: str, free: Q, *keys: str):
    # Three digits after the "+" hold any calling code; a few hundred groups at most.
    return (
        queryset.order_by()
        .annotate(prefix=Substr(phone_field, 2, 3))
        .values(*keys, "prefix")
        .annotate(n=Count("pk"), free=Count("pk", filter=free))
    )


def _waiting_goes_free(now: datetime.datetime) -> Q:
    """A delivery not sent yet goes as free text if claimed now: the dispatcher's own rule
    (queries.CANDIDATES), window margin included."""
    return Q(
        kind=Delivery.Kind.BROADCAST, window_closed=False, sent_at__isnull=True
    ) & window.goes_free(now)


def audience_by_country(broadcast: Broadcast, at: datetime.datetime) -> dict[str, tuple[int, int]]:
    """Who audience.start would queue now, per country, and how many of them wrote in the
    24 hours before `at`."""
    # Paid on WhatsApp only: whoever has no number goes on a free channel (the bot).
    on_whatsapp = audience.targeted(broadcast).exclude(phone="")
    rows = _grouped(on_whatsapp, "phone", window.goes_free(at, subscriber=""))
    return {country: n for (country,), n in _prefix_counts(rows).items()}


def deliveries_by_country(broadcast: Broadcast, now: datetime.datetime):
    """A started broadcast's recipients that may still be paid, per country: free are those
    that went as free text, and those still waiting whose window is open now."""
    deliveries = Delivery.objects.filter(
        broadcast=broadcast, channel__kind=Channel.Kind.WHATSAPP
    ).exclude(status__in=NEVER_PAID)
    free = Q(free=True, sent_at__isnull=False) | _waiting_goes_free(now)
    rows = _grouped(deliveries, "recipient", free)
    return {country: n for (country,), n in _prefix_counts(rows).items()}


def business_recipients_24h(channel, now: datetime.datetime | None = None) -> int:
    """Unique recipients holding a place in Meta's messaging limit (window.py's rule, the
    dispatcher's tier gate's too)."""
    return window.places_taken(channel.pk, now or timezone.now())


def tier_remaining(channel, now: datetime.datetime | None = None) -> int | None:
    """How many more unique recipients Meta's messaging limit allows in the rolling 24 hours;
    None when the channel has no limit set. Counted per channel: channels of one business
    portfolio share Meta's limit, so give each its share."""
    limit = window.messaging_limit(channel)
    if limit is None:
        return None
    return max(0, limit - business_recipients_24h(channel, now))


def tier_frees_at(channel, needed: int, now: datetime.datetime | None = None):
    """When Meta's messaging limit will have room for `needed` recipients, as the sends of
    the last 24 hours age out (each recipient's place frees 24 hours after the last business
    message to them). None when there is room now, or no limit, or nothing to age out; a send
    larger than the whole limit gets, here, the moment its next part can start."""
    now = now or timezone.now()
    remaining = tier_remaining(channel, now)
    if remaining is None or needed <= remaining:
        return None
    return window.place_frees_at(channel.pk, needed - remaining, now)


@dataclass(frozen=True)
class Line:
    category: str
    country: str  # ISO 3166 code from the number's prefix, or "other"
    priced_as: str  # the rate card's row used: the country itself, or "other"
    recipients: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.recipients).quantize(CENT, ROUND_HALF_UP)

    def as_dict(self) -> dict:
        return {
            "category": self.category,
            "country": self.country,
            "priced_as": self.priced_as,
            "recipients": self.recipients,
            "unit_price": str(self.unit_price),
            "amount": str(self.amount),
        }


@dataclass(frozen=True)
class Estimate:
    recipients: int
    in_free_window: int
    billable: int
    category: str
    lines: tuple[Line, ...]
    total: Decimal
    currency: str
    seconds: float
    rate_per_second: int
    rate_card_valid_from: datetime.date
    rate_card_source: str
    tier_remaining: int | None
    # When the limit will have room for every billable recipient; None: it has now.
    tier_frees_at: datetime.datetime | None = None

    def as_dict(self) -> dict:
        """JSON-ready, amounts as strings (a float would lose cents)."""
        return {
            "recipients": self.recipients,
            "in_free_window": self.in_free_window,
            "billable": self.billable,
            "category": self.category,
            "lines": [line.as_dict() for line in self.lines],
            "total": str(self.total),
            "currency": self.currency,
            "seconds": self.seconds,
            "rate_per_second": self.rate_per_second,
            "rate_card_valid_from": self.rate_card_valid_from.isoformat(),
            "rate_card_source": self.rate_card_source,
            "tier_remaining": self.tier_remaining,
            "tier_frees_at": self.tier_frees_at.isoformat() if self.tier_frees_at else None,
        }


def _lines(card: RateCard, category: str, by_country: dict[str, tuple[int, int]]) -> list[Line]:
    lines = []
    for country, (n, free) in sorted(by_country.items(), key=lambda item: -item[1][0]):
        for cat, count in ((category, n - free), ("service", free)):
            if count:
                lines.append(
                    Line(cat, country, card.priced_as(country), count, card.price(country, cat))
                )
    return lines


def _total(lines: Iterable[Line]) -> Decimal:
    # Rounded once, on the exact sum: lines rounded one by one could be a cent off.
    exact = sum((line.unit_price * line.recipients for line in lines), Decimal(0))
    return exact.quantize(CENT, ROUND_HALF_UP)


def estimate(broadcast: Broadcast, *, now: datetime.datetime | None = None) -> Estimate:
    """Recipients, free-window share, cost by category and country, and duration of a
    broadcast: the audience it would reach if not started yet, else its own deliveries."""
    now = now or timezone.now()
    card = load_rate_card()
    started = broadcast.started_at is not None or broadcast.deliveries.exists()
    if started:
        by_country = deliveries_by_country(broadcast, now)
    else:
        # A broadcast scheduled for later meets the windows open then, not now.
        at = max(now, broadcast.scheduled_at) if broadcast.scheduled_at else now
        by_country = audience_by_country(broadcast, at)
    category = category_of(broadcast)
    lines = _lines(card, category, by_country)
    recipients = sum(n for n, _free in by_country.values())
    in_free_window = sum(free for _n, free in by_country.values())
    channel = broadcast.channel
    return Estimate(
        recipients=recipients,
        in_free_window=in_free_window,
        billable=recipients - in_free_window,
        category=category,
        lines=tuple(lines),
        total=_total(lines),
        currency=card.currency,
        seconds=recipients / channel.rate_per_second,
        rate_per_second=channel.rate_per_second,
        rate_card_valid_from=card.valid_from,
        rate_card_source=card.source,
        tier_remaining=tier_remaining(channel, now),
        tier_frees_at=tier_frees_at(channel, recipients - in_free_window, now),
    )


def month_bounds(org, when: datetime.datetime | None = None):
    """The calendar month holding `when`, in the comune's time zone, as two aware datetimes."""
    zone = zoneinfo.ZoneInfo(org.time_zone or settings.TIME_ZONE)
    local = timezone.localtime(when or timezone.now(), zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # Built from the wall clock, so a DST change inside the month shifts nothing.
    end = (start.replace(tzinfo=None) + datetime.timedelta(days=32)).replace(day=1)
    return start, end.replace(tzinfo=zone)


def _paid(deliveries) -> tuple[int, Decimal]:
    """How many of these deliveries were paid (accepted by Meta, and not sent as free text
    inside the citizen's window: the dispatcher records which) and their price at each one's
    country, rounded once."""
    card = load_rate_card()
    accepted = deliveries.filter(kind__in=BUSINESS_INITIATED, status__in=ACCEPTED)
    rows = _grouped(accepted, "recipient", Q(free=True), "broadcast_id")
    counts = _prefix_counts(rows, "broadcast_id")
    broadcasts = Broadcast.objects.in_bulk({bid for bid, _c in counts if bid is not None})
    billable, exact = 0, Decimal(0)
    for (bid, country), (n, free) in counts.items():
        billable += n - free
        exact += card.price(country, category_of(broadcasts.get(bid))) * (n - free)
    return billable, exact.quantize(CENT, ROUND_HALF_UP)


def month_spent(org, when: datetime.datetime | None = None) -> Decimal:
    """Euros paid for the comune's business-initiated messages accepted in the calendar month
    of `when` (an approximation of Meta's invoice, which bills only what was delivered)."""
    start, end = month_bounds(org, when)
    deliveries = Delivery.objects.filter(organization=org, sent_at__gte=start, sent_at__lt=end)
    return _paid(deliveries)[1]


def actual(broadcast: Broadcast) -> tuple[int, Decimal]:
    """What a broadcast really cost so far: its paid messages and their euros, to record on
    it when it is sent."""
    return _paid(Delivery.objects.filter(broadcast=broadcast))


def would_exceed_budget(org, estimate: Estimate, when: datetime.datetime | None = None) -> bool:
    """Whether sending would take the month's spending past the comune's budget (None: no
    budget, never)."""
    if org.monthly_budget is None:
        return False
    return month_spent(org, when) + estimate.total > org.monthly_budget


def format_duration(seconds: float) -> str:
    # Unit symbols, the same in Italian and English.
    total = math.ceil(seconds)
    if total < 60:
        return f"{total} s"
    big, small, units = (total // 60, total % 60, ("min", "s"))
    if total >= 3600:
        big, small, units = (total // 3600, total % 3600 // 60, ("h", "min"))
    return f"{big} {units[0]} {small} {units[1]}" if small else f"{big} {units[0]}"


def money(amount: Decimal) -> str:
    """Euros as an operator reads them: "506,16" in Italian."""
    return number_format(amount, 2, force_grouping=True)


def _country_name(code: str) -> str:
    return str(COUNTRY_NAMES.get(code, code))


def describe(estimate: Estimate) -> str:
    """The summary an operator reads before submitting, in the active language."""
    paid = [line for line in estimate.lines if line.category != "service"]
    if not paid:
        lines = _("nothing to pay")
    elif len(paid) == 1:
        lines = f"{CATEGORY_NAMES[paid[0].category]}, {_country_name(paid[0].country)}"
    else:
        lines = "; ".join(
            f"{CATEGORY_NAMES[line.category]}, {_country_name(line.country)} € {money(line.amount)}"
            for line in paid
        )
    recipients = ngettext("%(count)s recipient", "%(count)s recipients", estimate.recipients) % {
        "count": number_format(estimate.recipients, force_grouping=True)
    }
    text = _(
        "%(recipients)s, of whom %(free)s in a free window; estimated cost € %(total)s "
        "(%(lines)s, rate card of %(date)s); about %(duration)s at the channel's rate"
    ) % {
        "recipients": recipients,
        "free": number_format(estimate.in_free_window, force_grouping=True),
        "total": money(estimate.total),
        "lines": lines,
        "date": date_format(estimate.rate_card_valid_from, "DATE_FORMAT"),
        "duration": format_duration(estimate.seconds),
    }
    if estimate.tier_remaining is not None and estimate.billable > estimate.tier_remaining:
        text += "; " + ngettext(
            "WhatsApp's messaging limit allows %(count)s more recipient in 24 hours: the rest "
            "go out as the limit frees up",
            "WhatsApp's messaging limit allows %(count)s more recipients in 24 hours: the rest "
            "go out as the limit frees up",
            estimate.tier_remaining,
        ) % {"count": number_format(estimate.tier_remaining, force_grouping=True)}
        if estimate.tier_frees_at is not None:
            when = timezone.localtime(estimate.tier_frees_at)
            text += _(" (room for all of them from %(time)s)") % {
                "time": date_format(when, "DATETIME_FORMAT")
            }
    return text
