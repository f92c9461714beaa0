"""How long the emulated Graph API takes to answer: fixed, or drawn from a distribution.

A real round trip to graph.facebook.com varies; benchmarks that claim a rate "with 100 ms
latency" should survive the spread too, not only a constant.
"""

import math
import random
from typing import Literal

Distribution = Literal["fixed", "uniform", "normal", "lognormal"]


def draw_ms(mean: float, spread: float, distribution: Distribution, rng: random.Random) -> float:
    """One latency in milliseconds, never negative. `spread` is the half-width (uniform) or
    the standard deviation (normal, lognormal) around `mean`."""
    if mean <= 0 and spread <= 0:
        return 0.0
    if distribution == "fixed" or spread <= 0:
        return max(0.0, mean)
    if distribution == "uniform":
        return max(0.0, rng.uniform(mean - spread, mean + spread))
    if distribution == "normal":
        return max(0.0, rng.gauss(mean, spread))
    # lognormal with the given mean and standard deviation: a long tail of slow answers.
    sigma2 = math.log(1 + (spread / mean) ** 2)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))
