"""Tail probabilities for counts, without SciPy."""

from __future__ import annotations

import math

_EPS = 1e-15
_MAX_ITER = 500


def poisson_tail(observed: float, rate: float) -> float:
    """P(X >= observed) for X ~ Poisson(rate), continuous in `observed`.

    Uses the identity P(X >= k) = P(k, rate), the regularized lower incomplete gamma function,
    which also gives a smooth answer for the non-integer counts of a quasi-Poisson model.
    """
    if observed <= 0:
        return 1.0
    if rate <= 0:
        return 0.0
    return regularized_gamma_p(observed, rate)


def negative_binomial_tail(observed: float, mean: float, dispersion: float) -> float:
    """P(X >= observed) for a negative binomial count with this mean and Var = m + k·m².

    `dispersion` is k (1 / the NB size); at k = 0 the count is Poisson. Continuous in
    `observed` through the regularized incomplete beta function: P(X >= x) = I_p(x, 1/k)
    with p = k·m / (1 + k·m).
    """
    if observed <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if dispersion <= 1e-9:
        return poisson_tail(observed, mean)
    size = 1.0 / dispersion
    p = mean / (size + mean)
    return regularized_beta(p, observed, size)


def binomial_tail(
    observed: float, trials: float, share: float, correlation: float, exact_from_z: float = 0.0
) -> float:
    """P(X >= observed) for X out of `trials` at `share`, as a beta-binomial-like count.

    Mentions come in threads, so they are not independent: with an intra-thread
    `correlation` r the effective sample is trials / (1 + r·(trials − 1)). A count less than
    `exact_from_z` standard deviations above its mean gets the normal approximation, which
    is cheap and good enough for an unremarkable count.
    """
    if observed <= 0:
        return 1.0
    if observed > trials or share <= 0:
        return 0.0
    shrink = 1.0 + max(correlation, 0.0) * max(trials - 1.0, 0.0)
    if exact_from_z > 0 and share < 1:
        effective = trials / shrink
        z = (observed / shrink - effective * share) / math.sqrt(effective * share * (1 - share))
        if z < exact_from_z:
            return 0.5 * math.erfc(z / math.sqrt(2))
    return regularized_beta(share, observed / shrink, (trials - observed) / shrink + 1.0)


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), by Lentz's continued fraction on the side where it converges fast."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_prefix = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return min(1.0, math.exp(log_prefix) * _beta_continued_fraction(x, a, b) / a)
    return max(0.0, 1.0 - math.exp(log_prefix) * _beta_continued_fraction(1 - x, b, a) / b)


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1)
    d = 1 / (tiny if abs(d) < tiny else d)
    h = d
    for m in range(1, _MAX_ITER):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (tiny if abs(d) < tiny else d)
            c = 1 + numerator / c
            c = tiny if abs(c) < tiny else c
            h *= d * c
        if abs(d * c - 1) < _EPS:
            break
    return h


def regularized_gamma_p(a: float, x: float) -> float:
    """P(a, x) = γ(a, x) / Γ(a), by series for x < a + 1, else by continued fraction."""
    if x <= 0:
        return 0.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        return min(1.0, math.exp(log_prefix) * _gamma_series(a, x))
    return max(0.0, 1.0 - math.exp(log_prefix) * _gamma_continued_fraction(a, x))


def _gamma_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_ITER):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total


def _gamma_continued_fraction(a: float, x: float) -> float:
    """Lentz's method for the continued fraction of Γ(a, x) e^x x^-a."""
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return h
