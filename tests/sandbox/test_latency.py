"""The latency model: fixed or drawn from a distribution, never negative, mean as asked."""

import random
import statistics
import time

import pytest

from banditore.sandbox.latency import draw_ms

from .harness import run, running_sandbox, template_body


@pytest.mark.parametrize("distribution", ["uniform", "normal", "lognormal"])
def test_it_draws_around_the_mean_with_the_spread(distribution):
    rng = random.Random(7)
    samples = [draw_ms(100, 30, distribution, rng) for _ in range(20000)]
    assert min(samples) >= 0
    assert statistics.mean(samples) == pytest.approx(100, rel=0.05)
    assert statistics.pstdev(samples) == pytest.approx(
        30 / 3**0.5 if distribution == "uniform" else 30, rel=0.1
    )


def test_fixed_is_fixed_and_zero_is_free():
    rng = random.Random(1)
    assert {draw_ms(100, 30, "fixed", rng) for _ in range(10)} == {100}
    assert draw_ms(0, 0, "lognormal", rng) == 0


def test_lognormal_has_a_long_tail():
    rng = random.Random(3)
    samples = sorted(draw_ms(100, 80, "lognormal", rng) for _ in range(20000))
    assert samples[int(0.99 * len(samples))] > 2.5 * statistics.median(samples)


@run
async def test_it_answers_graph_calls_after_the_configured_latency():
    async with running_sandbox(latency_ms=150, latency_spread_ms=20) as sb:
        async with running_sandbox(latency_ms=0) as fast:
            for sandbox, low, high in ((sb, 0.1, 1.0), (fast, 0.0, 0.09)):
                started = time.perf_counter()
                reply = await sandbox.send(template_body())
                elapsed = time.perf_counter() - started
                assert reply.status == 200
                assert low <= elapsed < high, elapsed
        # The control API is not the Graph API: no added latency there.
        started = time.perf_counter()
        await sb.control("GET", "config")
        assert time.perf_counter() - started < 0.09
