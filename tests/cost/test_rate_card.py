"""The rate card is data with a date and a source; a broken file is refused naming its line."""

import datetime
import json
import os
from decimal import Decimal

import pytest

from banditore.broadcasts import cost
from tests.cost.helpers import flat, rate_card

GOOD = {
    "valid_from": "2025-07-01",
    "source": "Meta's rate card",
    "prices": {"IT": flat(0.057), "other": flat(0.06)},
}


def card_text(**changes) -> str:
    return json.dumps({**GOOD, **changes}, indent=2)


def refusal(text: str) -> str:
    with pytest.raises(cost.RateCardError) as caught:
        cost.parse_rate_card(text, name="card.json")
    return str(caught.value)


def test_the_shipped_card_is_valid_and_says_where_its_prices_come_from():
    card = cost.load_rate_card(cost.SHIPPED)
    assert card.valid_from == datetime.date(2025, 7, 1)
    assert "Meta" in card.source and "2026-12" in card.source
    assert card.price("IT", "marketing") == Decimal("0.057")
    assert card.price("IT", "utility") == Decimal("0.026")
    assert card.price("IT", "service") == 0
    assert set(card.prices) >= {"IT", "other"}


def test_a_country_not_listed_is_priced_as_other():
    card = cost.parse_rate_card(card_text())
    assert card.price("DE", "marketing") == Decimal("0.06")
    assert (card.priced_as("DE"), card.priced_as("IT")) == ("other", "IT")


def test_prices_are_exact_decimals():
    card = cost.parse_rate_card(card_text())
    assert card.price("IT", "marketing") * 9000 == Decimal("513.000")


def test_invalid_json_is_refused_with_its_line():
    text = card_text().replace('"source"', "source", 1)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "source" in row)
    assert refusal(text).startswith(f"card.json, riga {line}:")


def test_a_negative_price_is_refused_naming_its_line():
    prices = {"IT": flat(0.057), "other": {**flat(0.06), "utility": -1}}
    text = card_text(prices=prices)
    message = refusal(text)
    lines = text.splitlines()
    other = next(i for i, row in enumerate(lines) if '"other"' in row)
    utility = next(i for i in range(other, len(lines)) if '"utility"' in lines[i])
    assert message.startswith(f"card.json, riga {utility + 1}:")
    assert "prezzo" in message


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"prices": {"IT": flat(0.057)}}, "other"),
        ({"prices": {"Italia": flat(0.057), "other": flat(0.06)}}, "Italia"),
        ({"prices": {"IT": {"marketing": 0.05}, "other": flat(0.06)}}, "utility"),
        ({"prices": {"IT": {**flat(0.05), "promo": 1}, "other": flat(0.06)}}, "promo"),
        ({"prices": {"IT": {**flat(0.05), "utility": "0,026"}, "other": flat(0.06)}}, "prezzo"),
        ({"valid_from": "1/7/2025"}, "valid_from"),
        ({"source": " "}, "source"),
        ({"currency": "USD"}, "EUR"),
        ({"prezzi": {}}, "prezzi"),
    ],
)
def test_a_malformed_card_is_refused_saying_what_is_wrong(changes, words):
    message = refusal(card_text(**changes))
    assert message.startswith("card.json, riga ")
    assert words in message


def test_a_card_missing_its_prices_is_refused():
    assert "prices" in refusal(json.dumps({"valid_from": "2025-07-01", "source": "x"}))


def test_the_installation_card_replaces_the_shipped_one(tmp_path, settings):
    rate_card(tmp_path, settings, {"other": flat(0.1)}, valid_from="2026-10-01", source="ours")
    card = cost.load_rate_card()
    assert (card.valid_from, card.source) == (datetime.date(2026, 10, 1), "ours")
    assert card.price("IT", "marketing") == Decimal("0.1")


def test_an_edited_card_is_read_again(tmp_path, settings):
    path = rate_card(tmp_path, settings, {"other": flat(0.1)})
    assert cost.load_rate_card().price("IT", "marketing") == Decimal("0.1")
    path.write_text(card_text(prices={"other": flat(0.2)}))
    # A coarse file clock may not tick between two writes: make the change visible.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cost.load_rate_card().price("IT", "marketing") == Decimal("0.2")


def test_a_missing_installation_card_is_refused_naming_the_file(tmp_path, settings):
    settings.BANDITORE_RATE_CARD = str(tmp_path / "nowhere.json")
    with pytest.raises(cost.RateCardError, match="nowhere.json"):
        cost.load_rate_card()


def test_a_country_listed_twice_is_refused_at_its_second_place():
    text = card_text()
    first = text.index('    "IT"')
    block_end = text.index("}", first) + 1
    twice = text[:block_end] + ",\n" + text[first:block_end] + text[block_end:]
    line = [i for i, row in enumerate(twice.splitlines(), 1) if '"IT"' in row][1]
    message = refusal(twice)
    assert message.startswith(f"card.json, riga {line}:") and "IT" in message
