"""An estimate counts exactly whom the send would reach, what it costs and how long it takes."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from banditore.broadcasts import audience, cost
from banditore.broadcasts.models import Delivery
from banditore.subscribers import service
from tests.cost.helpers import flat, new_broadcast, rate_card, sent, wrote
from tests.factories import channel_of, make_comune, subscribe


def citizens(org, count, start=0, topics=None):
    return [subscribe(org, f"+39333{start + i:07d}", topics=topics) for i in range(count)]


def test_it_counts_whom_audience_start_would_queue(comune):
    citizens(comune, 4)
    gone = subscribe(comune, "+393339999991")
    service.unsubscribe(comune, gone.phone, source="operator", evidence={})
    service.request_web_signup(
        comune, "+393339999992", topics=[], zone=None, name="", ip=None, user_agent="",
        evidence={},
    )  # fmt: skip
    citizens(make_comune(slug="trevi"), 3, start=100)
    b = new_broadcast(comune)
    estimate = cost.estimate(b)
    assert estimate.recipients == 4
    assert audience.start(b) == estimate.recipients


def test_with_topics_it_counts_the_followers_of_at_least_one(comune):
    citizens(comune, 2, topics=["viabilita"])
    citizens(comune, 3, start=10, topics=["eventi"])
    citizens(comune, 1, start=20, topics=["viabilita", "eventi"])
    citizens(comune, 4, start=30, topics=["farmacie"])
    b = new_broadcast(comune, topics=["viabilita", "eventi"])
    estimate = cost.estimate(b)
    assert estimate.recipients == 6
    assert audience.start(b) == 6


def test_a_started_broadcast_is_estimated_from_its_deliveries(comune):
    citizens(comune, 5)
    b = new_broadcast(comune)
    audience.start(b)
    # Citizens who join after the start are not in this broadcast.
    citizens(comune, 3, start=50)
    first, second, *_ = Delivery.objects.filter(broadcast=b).order_by("id")
    Delivery.objects.filter(pk=first.pk).update(status="skipped", skip_reason="unsubscribed")
    Delivery.objects.filter(pk=second.pk).update(status="failed", error_code=131026)
    estimate = cost.estimate(b)
    assert (estimate.recipients, estimate.billable) == (3, 3)
    assert estimate.total == Decimal("0.17")  # 3 × €0.057 = 0.171


def test_citizens_who_wrote_in_the_last_24_hours_are_free(comune):
    citizens(comune, 3)
    wrote(comune, "+393330000000", timedelta(hours=23, minutes=30))
    wrote(comune, "+393330000001", timedelta(hours=24, minutes=10))
    # Ten minutes of window left: less than the dispatcher's margin, so it gets the template.
    wrote(comune, "+393330000002", timedelta(hours=23, minutes=50))
    estimate = cost.estimate(new_broadcast(comune))
    assert (estimate.recipients, estimate.in_free_window, estimate.billable) == (3, 1, 2)
    assert estimate.total == Decimal("0.11")  # 2 × €0.057 = 0.114
    service_line = next(line for line in estimate.lines if line.category == "service")
    assert (service_line.recipients, service_line.amount) == (1, Decimal("0.00"))


def test_a_later_schedule_meets_the_windows_open_then(comune):
    citizens(comune, 2)
    wrote(comune, "+393330000000", timedelta(hours=2))
    b = new_broadcast(comune, scheduled_at=timezone.now() + timedelta(hours=23))
    assert cost.estimate(b).in_free_window == 0
    b.scheduled_at = timezone.now() + timedelta(hours=21)
    assert cost.estimate(b).in_free_window == 1


def test_a_free_window_of_a_started_broadcast_is_judged_at_its_sending(comune):
    citizens(comune, 2)
    b = new_broadcast(comune)
    audience.start(b)
    wrote(comune, "+393330000000", timedelta(hours=1))
    wrote(comune, "+393330000001", timedelta(hours=1))
    # One went out two days ago, before its citizen wrote; the other still waits.
    Delivery.objects.filter(recipient="+393330000000").update(
        status="delivered", sent_at=timezone.now() - timedelta(days=2)
    )
    estimate = cost.estimate(b)
    assert (estimate.in_free_window, estimate.billable) == (1, 1)


def test_lines_are_by_country_from_the_numbers_prefix(comune, tmp_path, settings):
    rate_card(tmp_path, settings, {"IT": flat(0.05), "DE": flat(0.1), "other": flat(0.2)})
    citizens(comune, 2)
    for phone in ["+4915123456789", "+4915123456780", "+14155552671", "+41791234567"]:
        subscribe(comune, phone)
    estimate = cost.estimate(new_broadcast(comune))
    got = {(ln.country, ln.priced_as, ln.recipients, ln.amount) for ln in estimate.lines}
    assert got == {
        ("IT", "IT", 2, Decimal("0.10")),
        ("DE", "DE", 2, Decimal("0.20")),
        ("US", "other", 1, Decimal("0.20")),
        ("CH", "other", 1, Decimal("0.20")),
    }
    assert {ln.category for ln in estimate.lines} == {"marketing"}
    assert estimate.total == Decimal("0.70")


def test_the_total_is_rounded_once_to_the_cent(comune, tmp_path, settings):
    rate_card(tmp_path, settings, {"IT": flat(0.0125), "other": flat(0.0125)})
    subscribe(comune, "+393330000000")
    subscribe(comune, "+4915123456789")
    estimate = cost.estimate(new_broadcast(comune))
    # Each line is €0.0125 (shown as 0.01), but the send costs €0.025: 0.03, half up.
    assert [line.amount for line in estimate.lines] == [Decimal("0.01")] * 2
    assert estimate.total == Decimal("0.03")


def test_half_a_cent_rounds_up(comune):
    citizens(comune, 25)
    assert cost.estimate(new_broadcast(comune)).total == Decimal("1.43")  # 25 × 0.057 = 1.425


def test_the_duration_is_at_the_channels_rate(comune):
    citizens(comune, 5)
    channel = channel_of(comune)
    channel.rate_per_second = 2
    channel.save()
    estimate = cost.estimate(new_broadcast(comune))
    assert (estimate.seconds, estimate.rate_per_second) == (2.5, 2)


def test_the_estimate_names_its_rate_card(comune, tmp_path, settings):
    rate_card(tmp_path, settings, {"other": flat(0.05)}, valid_from="2026-10-01", source="ours")
    estimate = cost.estimate(new_broadcast(comune))
    assert (str(estimate.rate_card_valid_from), estimate.rate_card_source) == ("2026-10-01", "ours")


def test_the_number_of_queries_does_not_grow_with_the_audience(comune):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            cost.estimate(new_broadcast(comune, topics=["viabilita"]))
        return len(captured)

    citizens(comune, 2, topics=["viabilita"])
    few = queries()
    citizens(comune, 40, start=10, topics=["viabilita"])
    assert queries() == few


def test_without_a_messaging_limit_there_is_no_tier(comune):
    assert cost.estimate(new_broadcast(comune)).tier_remaining is None


def test_the_tier_left_is_the_limit_less_todays_unique_business_recipients(comune):
    channel = channel_of(comune)
    channel.config = {**channel.config, "messaging_limit": 250}
    channel.save()
    now = timezone.now()
    b = new_broadcast(comune)
    sent(comune, "+393330000001", now - timedelta(hours=1), broadcast=b)
    sent(comune, "+393330000001", now - timedelta(hours=2), kind="notice")
    sent(comune, "+393330000002", now - timedelta(hours=23), status="read", broadcast=b)
    sent(comune, "+393330000003", now - timedelta(hours=25), broadcast=b)
    sent(comune, "+393330000004", now - timedelta(hours=1), kind="reply")
    assert cost.estimate(new_broadcast(comune)).tier_remaining == 248


def test_the_tier_left_is_never_negative(comune):
    channel = channel_of(comune)
    channel.config = {**channel.config, "messaging_limit": 1}
    channel.save()
    now = timezone.now()
    sent(comune, "+393330000001", now - timedelta(hours=1), kind="notice")
    sent(comune, "+393330000002", now - timedelta(hours=1), kind="notice")
    assert cost.tier_remaining(channel) == 0


def test_as_dict_is_json_ready_with_amounts_as_strings(comune):
    import json

    citizens(comune, 3)
    data = cost.estimate(new_broadcast(comune)).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["total"] == "0.17"
    assert data["lines"] == [
        {
            "category": "marketing",
            "country": "IT",
            "priced_as": "IT",
            "recipients": 3,
            "unit_price": "0.057",
            "amount": "0.17",
        }
    ]
    assert data["rate_card_valid_from"] == "2025-07-01"
    assert (data["recipients"], data["in_free_window"], data["billable"]) == (3, 0, 3)


def limited(org, limit):
    channel = channel_of(org)
    channel.config = {**channel.config, "messaging_limit": limit}
    channel.save()
    return channel


def test_the_limit_frees_as_yesterdays_recipients_age_out(comune):
    channel = limited(comune, 3)
    now = timezone.now()
    sent(comune, "+393330000001", now - timedelta(hours=23), kind="notice")
    sent(comune, "+393330000002", now - timedelta(hours=20), kind="notice")
    # A's place frees 24 hours after the last message to A, not the first.
    sent(comune, "+393330000001", now - timedelta(hours=10), kind="notice")
    sent(comune, "+393330000003", now - timedelta(hours=5), kind="notice")
    assert cost.tier_remaining(channel, now) == 0
    assert cost.tier_frees_at(channel, 1, now) == now + timedelta(hours=4)
    assert cost.tier_frees_at(channel, 2, now) == now + timedelta(hours=14)
    # More than the whole limit: the next part can start once everything aged out.
    assert cost.tier_frees_at(channel, 5, now) == now + timedelta(hours=19)
    assert cost.tier_frees_at(channel, 0, now) is None


def test_the_estimate_says_when_the_limit_has_room_for_everyone(comune):
    limited(comune, 2)
    citizens(comune, 2)
    sent(comune, "+393339999999", timezone.now() - timedelta(hours=6), kind="notice")
    estimate = cost.estimate(new_broadcast(comune))
    assert estimate.tier_remaining == 1
    assert timedelta(hours=17, minutes=59) < estimate.tier_frees_at - timezone.now()
    assert estimate.tier_frees_at - timezone.now() <= timedelta(hours=18)
    assert estimate.as_dict()["tier_frees_at"] == estimate.tier_frees_at.isoformat()


def test_an_unlimited_channel_never_waits_for_the_limit(comune):
    citizens(comune, 2)
    assert cost.tier_frees_at(channel_of(comune), 10_000) is None
    assert cost.estimate(new_broadcast(comune)).as_dict()["tier_frees_at"] is None
