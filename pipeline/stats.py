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


def quasi_poisson_tail(observed: float, mean: float, dispersion: float) -> float:
    """Tail of an over-dispersed count: X / d ~ Poisson(mean / d), with d >= 1."""
    d = max(1.0, dispersion)
    return poisson_tail(observed / d, mean / d)


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
