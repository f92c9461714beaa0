"""The summary an operator reads before submitting a broadcast."""

import datetime
from decimal import Decimal

from django.utils import translation

from banditore.broadcasts import cost

PORDENONE = cost.Estimate(
    recipients=9000,
    in_free_window=120,
    billable=8880,
    category="marketing",
    lines=(
        cost.Line("marketing", "IT", "IT", 8880, Decimal("0.057")),
        cost.Line("service", "IT", "IT", 120, Decimal("0")),
    ),
    total=Decimal("506.16"),
    currency="EUR",
    seconds=112.5,
    rate_per_second=80,
    rate_card_valid_from=datetime.date(2025, 7, 1),
    rate_card_source="Meta",
    tier_remaining=None,
)


def with_(**changes) -> cost.Estimate:
    return cost.Estimate(**{**PORDENONE.__dict__, **changes})


def test_it_says_recipients_free_window_cost_card_and_duration():
    with translation.override("en"):
        text = cost.describe(PORDENONE)
    assert text == (
        "9,000 recipients, of whom 120 in a free window; estimated cost € 506.16 "
        "(marketing, Italy, rate card of July 1, 2025); about 1 min 53 s at the channel's rate"
    )


def test_numbers_follow_the_operators_language():
    with translation.override("it"):
        text = cost.describe(PORDENONE)
    assert "9.000" in text and "€ 506,16" in text and "1 min 53 s" in text


def test_several_countries_are_listed_with_their_amounts():
    lines = (
        cost.Line("marketing", "IT", "IT", 10, Decimal("0.057")),
        cost.Line("marketing", "DE", "other", 2, Decimal("0.057")),
    )
    with translation.override("en"):
        text = cost.describe(with_(lines=lines))
    assert "(marketing, Italy € 0.57; marketing, DE € 0.11, rate card of" in text


def test_nothing_to_pay_when_everyone_is_in_a_window():
    lines = (cost.Line("service", "IT", "IT", 3, Decimal("0")),)
    estimate = with_(recipients=3, in_free_window=3, billable=0, lines=lines, total=Decimal("0"))
    with translation.override("en"):
        text = cost.describe(estimate)
    assert text.startswith("3 recipients, of whom 3 in a free window; estimated cost € 0.00")
    assert "(nothing to pay," in text


def test_one_recipient_is_singular():
    with translation.override("en"):
        assert cost.describe(with_(recipients=1)).startswith("1 recipient, ")


def test_it_warns_when_the_messaging_limit_cuts_the_send():
    with translation.override("en"):
        assert "limit" not in cost.describe(with_(tier_remaining=10000))
        text = cost.describe(with_(tier_remaining=2000))
    assert text.endswith(
        "; WhatsApp's messaging limit allows 2,000 more recipients in 24 hours: "
        "the rest go out as the limit frees up"
    )


def test_it_says_when_the_limit_has_room_for_everyone():
    frees = datetime.datetime(2026, 12, 3, 9, 30, tzinfo=datetime.UTC)
    with translation.override("en"):
        text = cost.describe(with_(tier_remaining=2000, tier_frees_at=frees))
    assert text.endswith("frees up (room for all of them from Dec. 3, 2026, 10:30 a.m.)")


def test_durations_read_naturally():
    seconds = (0, 0.2, 59.5, 60, 112.5, 3599, 3600, 7299)
    assert [cost.format_duration(s) for s in seconds] == [
        "0 s", "1 s", "1 min", "1 min", "1 min 53 s", "59 min 59 s", "1 h", "2 h 1 min",
    ]  # fmt: skip
