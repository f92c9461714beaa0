"""A citizen's message is read in time linear in its length, whatever it holds.

The old TOPIC_CHANGES pattern backtracked exponentially: a 121-character message never
finished and froze the installation. Each case here must finish well inside the budget.
"""

import time
from datetime import UTC, datetime

import pytest

from banditore.core.phone import InvalidNumber, from_whatsapp_id, to_e164
from banditore.subscribers import chat
from banditore.subscribers.keywords import DEFAULT_KEYWORDS, Command, normalize, topic_changes
from banditore.subscribers.models import Subscriber
from tests.factories import subscribe

BUDGET = 0.5  # seconds per call; the old code never returned on the first case
CITIZEN = "+393331112222"

ADVERSARIAL = {
    "the 121 characters that froze it": "+a  " * 30 + "+",
    "+a × 5000": "+a" * 5000,
    "+ a - × 10000": "+ a -" * 10000,
    "signs, spaces and commas, 100k": ("+ -, ;" * 3 + "a b") * 4000,
    "one sign then 100k letters and a comma": "+" + "a " * 50_000 + ",x",
    "whatsapp's maximum, 4096": ("+viabilita -" * 400)[:4096],
    "beyond the maximum": "TEMI " + "1 calcio, " * 20_000,
    "accents and emoji, 100k": "+è🙂 -à, " * 12_000,
    "nothing but separators": " ,;" * 40_000,
    "a giant word": "iscrivimi " + "x" * 200_000,
}


def timed(call, *args, **kwargs):
    start = time.perf_counter()
    result = call(*args, **kwargs)
    elapsed = time.perf_counter() - start
    assert elapsed < BUDGET, f"took {elapsed:.2f} s"
    return result


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_parsing_takes_linear_time(text):
    timed(DEFAULT_KEYWORDS.parse, text)
    timed(normalize, text)


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_handling_takes_linear_time_and_answers_in_one_message(comune, text):
    subscribe(comune, CITIZEN, topics=["eventi"])
    parsed = timed(DEFAULT_KEYWORDS.parse, text)
    outcome = timed(
        chat.handle,
        comune,
        CITIZEN,
        parsed,
        evidence={"test": True},
        when=datetime.now(UTC),
    )
    assert outcome.reply is None or len(outcome.reply) <= 4096
    assert Subscriber.objects.get(phone=CITIZEN).status in ("active", "unsubscribed")


def test_a_long_list_of_changes_still_reads_as_one():
    text = "+viabilita -eventi, " * 2000
    parsed = timed(DEFAULT_KEYWORDS.parse, text)
    assert parsed.command == Command.TOPICS
    assert len(timed(topic_changes, text)) == 4000


@pytest.mark.parametrize(
    "text",
    ["+", "+ -x", "++a", "+a, b", "+a,,b", "a +b", "+,a", ""],
)
def test_what_is_not_a_list_of_changes(text):
    assert topic_changes(text) is None


def test_unknown_words_are_quoted_briefly(comune):
    subscribe(comune, CITIZEN)
    parsed = DEFAULT_KEYWORDS.parse("TEMI " + " ".join(f"parola{n}" for n in range(3000)))
    reply = chat.handle(comune, CITIZEN, parsed, evidence={}, when=datetime.now(UTC)).reply
    assert "parola0, parola1, parola2, parola3, parola4, …" in reply
    assert "parola5" not in reply


@pytest.mark.parametrize("raw", ["+" + "3" * 100_000, "3" * 100_000, "+39 " * 30_000])
def test_phone_numbers_fail_fast(raw):
    with pytest.raises(InvalidNumber):
        timed(to_e164, raw)
    with pytest.raises(InvalidNumber):
        timed(from_whatsapp_id, raw)
