"""What the comune spent this month (Europe/Rome's calendar month) and its budget."""

import datetime
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from banditore.broadcasts import cost
from banditore.subscribers import privacy
from tests.cost.helpers import flat, new_broadcast, rate_card, sent, wrote
from tests.factories import subscribe

ROME = ZoneInfo("Europe/Rome")


def rome(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=ROME)


def spent_lately(org, hours=5) -> Decimal:
    """This month's spending, plus last month's when the last hours straddle the two."""
    months = {cost.month_bounds(org, timezone.now() - timedelta(hours=h))[0] for h in (0, hours)}
    return sum((cost.month_spent(org, month) for month in months), Decimal(0))


def test_the_month_is_the_comunes_calendar_month_across_dst(comune):
    start, end = cost.month_bounds(comune, rome(2026, 3, 15, 12))
    assert start.astimezone(datetime.UTC) == datetime.datetime(2026, 2, 28, 23, tzinfo=datetime.UTC)
    # Summer time began on March 29th: April starts at 22:00 UTC.
    assert end.astimezone(datetime.UTC) == datetime.datetime(2026, 3, 31, 22, tzinfo=datetime.UTC)
    start, end = cost.month_bounds(comune, rome(2026, 12, 31, 23, 59))
    assert (start, end) == (rome(2026, 12, 1), rome(2027, 1, 1))


def test_only_messages_sent_inside_the_month_count(comune):
    b = new_broadcast(comune)
    for phone, at in [
        ("+393330000001", rome(2026, 11, 30, 23, 59)),  # November
        ("+393330000002", rome(2026, 12, 1, 0, 30)),  # 2026-11-30 23:30 UTC: December
        ("+393330000003", rome(2026, 12, 31, 23, 30)),
        ("+393330000004", rome(2027, 1, 1, 0, 10)),  # 2026-12-31 23:10 UTC: January
    ]:
        sent(comune, phone, at, broadcast=b)
    assert cost.month_spent(comune, rome(2026, 12, 15)) == Decimal("0.11")  # 2 × 0.057
    assert cost.month_spent(comune, rome(2026, 11, 2)) == Decimal("0.06")
    assert cost.month_spent(comune, rome(2027, 1, 20)) == Decimal("0.06")


def test_only_accepted_business_initiated_messages_are_paid(comune):
    b = new_broadcast(comune)
    at = rome(2026, 12, 10, 10)
    sent(comune, "+393330000001", at, broadcast=b, status="sent")
    sent(comune, "+393330000002", at, broadcast=b, status="read")
    sent(comune, "+393330000003", at, kind="notice")
    sent(comune, "+393330000004", at, kind="reply")  # free text in the window
    sent(comune, "+393330000005", at, broadcast=b, status="failed")
    sent(comune, "+393330000006", at, broadcast=b, status="queued")
    assert cost.month_spent(comune, at) == Decimal("0.17")  # 3 × 0.057


def test_a_message_sent_inside_the_citizens_window_is_free(comune):
    now = timezone.now()
    b = new_broadcast(comune)
    for phone in ("+393330000001", "+393330000002", "+393330000003"):
        subscribe(comune, phone)
    wrote(comune, "+393330000001", timedelta(hours=3))
    wrote(comune, "+393330000002", timedelta(hours=3))
    sent(comune, "+393330000001", now - timedelta(hours=2), broadcast=b, free=True)  # inside
    sent(comune, "+393330000002", now - timedelta(hours=4), broadcast=b)  # before it wrote
    sent(comune, "+393330000003", now - timedelta(hours=2), broadcast=b)  # never wrote
    assert spent_lately(comune) == Decimal("0.11")


def test_an_erased_citizens_message_stays_paid(comune):
    subscribe(comune, "+393330000001")
    sent(comune, "+393330000001", timezone.now(), broadcast=new_broadcast(comune))
    privacy.erase(comune, "+393330000001", actor_label="test")
    assert spent_lately(comune) == Decimal("0.06")


def test_each_message_at_its_countrys_price(comune, tmp_path, settings):
    rate_card(tmp_path, settings, {"IT": flat(0.05), "DE": flat(0.1), "other": flat(0.2)})
    b = new_broadcast(comune)
    now = timezone.now()
    for phone in ("+393330000001", "+4915123456789", "+14155552671"):
        sent(comune, phone, now, broadcast=b)
    assert spent_lately(comune) == Decimal("0.35")


def test_without_a_budget_nothing_exceeds_it(comune):
    assert comune.monthly_budget is None
    huge = cost.Estimate(**{**ESTIMATE, "total": Decimal("1000000.00")})
    assert not cost.would_exceed_budget(comune, huge)


def test_a_send_that_takes_the_month_past_its_budget_exceeds_it(comune):
    comune.monthly_budget = Decimal("1.00")
    comune.save()
    b = new_broadcast(comune)
    for i in range(10):
        sent(comune, f"+39333000{i:04d}", timezone.now(), broadcast=b)  # € 0.57
    at_limit = cost.Estimate(**{**ESTIMATE, "total": Decimal("0.43")})
    over = cost.Estimate(**{**ESTIMATE, "total": Decimal("0.44")})
    assert not cost.would_exceed_budget(comune, at_limit)
    assert cost.would_exceed_budget(comune, over)


ESTIMATE = dict(
    recipients=1,
    in_free_window=0,
    billable=1,
    category="marketing",
    lines=(),
    total=Decimal("0"),
    currency="EUR",
    seconds=0.0125,
    rate_per_second=80,
    rate_card_valid_from=datetime.date(2025, 7, 1),
    rate_card_source="test",
    tier_remaining=None,
)


def test_a_broadcasts_actual_cost_counts_its_paid_messages_only(comune):
    now = timezone.now()
    b = new_broadcast(comune)
    for phone in ("+393330000001", "+393330000002", "+4915123456789"):
        subscribe(comune, phone)
    wrote(comune, "+393330000002", timedelta(hours=3))
    sent(comune, "+393330000001", now - timedelta(days=40), broadcast=b)  # last month: still its
    sent(comune, "+393330000002", now - timedelta(hours=1), broadcast=b, free=True)  # in window
    sent(comune, "+4915123456789", now, broadcast=b, status="read")
    sent(comune, "+393330000003", now, broadcast=b, status="failed")
    sent(comune, "+393330000004", now, kind="notice")  # not this broadcast's
    assert cost.actual(b) == (2, Decimal("0.11"))
    assert cost.actual(new_broadcast(comune)) == (0, Decimal("0.00"))
