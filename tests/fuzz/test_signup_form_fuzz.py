"""The sign-up form takes anything a browser (or a script) can send: arbitrary Unicode in
every field, huge values, fields missing or repeated, bytes that aren't UTF-8. It never
answers 500, stores nothing for a form it refuses, and stores exactly one pending
subscriber with one consent event for a valid sign-up of a new number.
"""

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from banditore.core.phone import InvalidNumber, to_e164
from banditore.public import views
from banditore.subscribers.models import ConsentEvent, Subscriber
from tests.public.conftest import english_client

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MISSING = object()

# Text a browser can send: any code point but lone surrogates (not encodable in UTF-8).
anything = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
huge = st.integers(min_value=100, max_value=20_000).map(lambda n: "9" * n)
mobiles = st.builds(
    lambda digits, sep, prefix: prefix + sep.join([digits[:3], digits[3:6], digits[6:]]),
    st.text("0123456789", min_size=7, max_size=7).map(lambda d: "33" + d + "1"),
    st.sampled_from(["", " ", ".", "-", "\u00a0", "/"]),
    st.sampled_from(["", "+39", "0039", "+39 "]),
)


def field(usual):
    # Mostly what a person sends, so that many examples get through and store something.
    # (one_of() would flatten and deduplicate repeated branches, so the odds are drawn.)
    odd = st.one_of(st.just(MISSING), anything, huge)
    return st.integers(0, 3).flatmap(lambda n: odd if n == 0 else usual)


forms = st.fixed_dictionaries(
    {
        "phone": field(mobiles),
        "privacy": field(st.just("on")),
        "name": field(anything | st.just("")),
        "website": field(st.just("")),
        "topics": field(
            st.just(MISSING)
            | st.lists(st.sampled_from(["1", "2", "3", "-1", "0", "x", "9" * 30]), max_size=4)
        ),
        "zone": field(st.sampled_from(["1", "", "0", "1e3", "\x00"])),
    }
)


@pytest.fixture
def client(comune, monkeypatch):
    # Every example comes from one address: the per-address limit must not decide them.
    monkeypatch.setattr(views, "SIGNUPS_PER_IP_PER_HOUR", 10**9)
    return english_client(REMOTE_ADDR="203.0.113.7")


def e164(phone) -> str | None:
    if not isinstance(phone, str):
        return None
    try:
        return to_e164(phone)
    except InvalidNumber:
        return None


@FUZZ
@given(data=forms)
def test_any_form_is_refused_cleanly_or_signs_up_one_number(client, data):
    sent = {k: v for k, v in data.items() if v is not MISSING}
    number = e164(sent.get("phone"))
    known = number is not None and Subscriber.objects.filter(phone=number).exists()
    subscribers, consents = Subscriber.objects.count(), ConsentEvent.objects.count()

    response = client.post("/iscriviti", sent)

    event(f"answered {response.status_code}")
    assert response.status_code in (200, 302, 413), response.status_code
    added = Subscriber.objects.count() - subscribers
    recorded = ConsentEvent.objects.count() - consents
    if response.status_code != 302:
        assert (added, recorded) == (0, 0)
        return
    # Accepted: only with a real number and the privacy box ticked.
    assert number is not None and sent.get("privacy")
    if known or str(sent.get("website", "")).strip():
        assert (added, recorded) == (0, 0)  # a number already held, or the honeypot
        return
    event("signed up")
    assert (added, recorded) == (1, 1)
    subscriber = Subscriber.objects.get(phone=number)
    assert subscriber.status == Subscriber.Status.PENDING
    assert ConsentEvent.objects.filter(subscriber=subscriber).count() == 1


@FUZZ
@given(raw=st.binary(max_size=300))
def test_a_body_of_any_bytes_is_refused_cleanly(client, raw):
    subscribers, consents = Subscriber.objects.count(), ConsentEvent.objects.count()
    response = client.post("/iscriviti", raw, content_type="application/x-www-form-urlencoded")
    # 415: the test client sends no Content-Type with an empty body.
    assert response.status_code in (200, 302, 400, 413, 415), response.status_code
    if response.status_code != 302:
        assert Subscriber.objects.count() == subscribers
        assert ConsentEvent.objects.count() == consents


@pytest.mark.parametrize("topic", ["9" * 19, "-" + "9" * 30, "99999999999999999999"])
def test_a_topic_id_past_64_bits_is_a_form_error_not_a_500(client, topic):
    # Found by the fuzzer: SQLite can't bind the number, and the page answered 500.
    response = client.post("/iscriviti", {"phone": "3331234567", "privacy": "on", "topics": topic})
    assert response.status_code == 200
    assert "Choose the topics from the list." in response.content.decode()
    assert not Subscriber.objects.exists() and not ConsentEvent.objects.exists()
