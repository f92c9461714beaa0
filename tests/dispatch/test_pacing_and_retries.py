"""The pacer, the retry policy and the circuit breaker, on a fake clock."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from banditore.channels.base import STOP, Action, SendError, Verdict
from banditore.channels.whatsapp.errors import TROUBLE, classify
from banditore.dispatch.breaker import Breaker
from banditore.dispatch.limiter import Pacer, RecipientSpacing
from banditore.dispatch.outcomes import MAX_BACKOFF, backoff, requeue_at

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_two_messages_to_one_chat_are_spaced_others_go_at_once():
    clock = Clock()
    spacing = RecipientSpacing(1.1, clock=clock)
    assert [spacing.delay("42"), spacing.delay("43"), spacing.delay("42")] == pytest.approx(
        [0.0, 0.0, 1.1]
    )
    assert spacing.delay("42") == pytest.approx(2.2)
    clock.now += 5
    assert spacing.delay("42") == 0.0
    # Without an interval (WhatsApp) nothing is spaced, nor remembered.
    free = RecipientSpacing(None, clock=clock)
    assert [free.delay("42"), free.delay("42")] == [0.0, 0.0] and free.next == {}


def test_the_spacing_forgets_chats_whose_time_has_passed():
    clock = Clock()
    spacing = RecipientSpacing(1.0, clock=clock)
    for i in range(RecipientSpacing.PRUNE_AT):
        spacing.delay(str(i))
    clock.now += 2
    spacing.delay("new")
    assert spacing.next == {"new": clock.now + 1.0}


def test_the_pacer_spaces_sends_at_the_rate_with_a_small_burst():
    clock = Clock()
    pacer = Pacer(10, burst=3, clock=clock)
    delays = [pacer.delay() for _ in range(5)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert delays[3] == pytest.approx(0.1)
    assert delays[4] == pytest.approx(0.2)


def test_the_pacer_never_divides_by_zero():
    pacer = Pacer(0, clock=Clock())
    assert pacer.delay() == 0.0
    assert pacer.delay() == pytest.approx(1.0)


def test_a_hold_stops_everything_for_its_length():
    clock = Clock()
    pacer = Pacer(100, clock=clock)
    pacer.hold(2.0)
    assert pacer.delay() == pytest.approx(2.0)


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    assert 1.5 <= backoff(1) <= 2.0
    assert 12.0 <= backoff(4) <= 16.0
    assert all(0.75 * MAX_BACKOFF <= backoff(n) <= MAX_BACKOFF for n in (9, 20, 60))


@override_settings(DISPATCH_RETRY_BUDGET_SECONDS=4 * 3600)
def test_retries_go_on_for_the_time_budget_not_a_count():
    error = SendError(131000, "generic", Verdict(Action.RETRY))
    # The 30th attempt an hour in still retries; the old policy gave up after ~62 s.
    assert requeue_at(error, T0, 30, T0 + timedelta(hours=1)) is not None
    assert requeue_at(error, T0, 3, T0 + timedelta(hours=4)) is None


def test_provider_trouble_retries_soon_the_breaker_does_the_waiting():
    error = SendError(2, "down", TROUBLE)
    when = requeue_at(error, T0, 12, T0)
    assert timedelta(seconds=1) <= when - T0 <= timedelta(seconds=3)


def test_a_stopped_channel_keeps_its_deliveries_and_final_errors_end_them():
    assert requeue_at(SendError(190, "token", STOP), T0, 1, T0) == T0
    for code in (131026, 131050, 131047):
        assert requeue_at(SendError(code, "x", classify(code)), T0, 1, T0) is None


def test_the_breaker_opens_after_a_run_of_trouble_and_probes_with_one_send():
    clock = Clock()
    breaker = Breaker(threshold=3, first=1.0, cap=4.0, clock=clock)
    for _ in range(3):
        assert breaker.allow() == (0.0, False)
        breaker.record(trouble=True)
    wait, probe = breaker.allow()
    assert wait == pytest.approx(1.0) and not probe
    # In-flight failures arriving after it opened don't push the cool-down further.
    breaker.record(trouble=True)
    breaker.record(trouble=True)
    assert breaker.allow()[0] == pytest.approx(1.0)
    clock.now += 1.0
    assert breaker.allow() == (0.0, True)  # the probe
    assert breaker.allow()[0] > 0  # nobody else while it is out
    breaker.record(trouble=True, probe=True)
    assert breaker.allow()[0] == pytest.approx(2.0)  # longer cool-down
    clock.now += 2.0
    assert breaker.allow() == (0.0, True)
    breaker.record(trouble=False, probe=True)
    assert breaker.closed and breaker.allow() == (0.0, False)


def test_an_answer_that_is_not_trouble_closes_the_breaker():
    breaker = Breaker(threshold=2, clock=Clock())
    breaker.record(trouble=True)
    breaker.record(trouble=False)  # e.g. 131026: the provider is working
    breaker.record(trouble=True)
    assert breaker.closed
