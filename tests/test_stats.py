import math

import pytest

from pipeline.stats import binomial_tail, negative_binomial_tail, poisson_tail


def exact_tail(k: int, rate: float) -> float:
    return 1 - sum(math.exp(-rate) * rate**i / math.factorial(i) for i in range(k))


@pytest.mark.parametrize(
    ("k", "rate"), [(1, 0.5), (5, 1.0), (24, 10.0), (3, 3.0), (140, 100.0), (50, 40.0)]
)
def test_poisson_tail_matches_the_sum_of_the_pmf(k: int, rate: float) -> None:
    assert poisson_tail(k, rate) == pytest.approx(exact_tail(k, rate), rel=1e-9, abs=1e-15)


def test_edges() -> None:
    assert poisson_tail(0, 5.0) == 1.0
    assert poisson_tail(3, 0.0) == 0.0
    assert 0.0 <= poisson_tail(5000, 4000.0) < 1e-40


def exact_nb_tail(k: int, mean: float, dispersion: float) -> float:
    size = 1 / dispersion
    p = mean / (size + mean)
    pmf = [
        math.exp(
            math.lgamma(i + size)
            - math.lgamma(size)
            - math.lgamma(i + 1)
            + size * math.log1p(-p)
            + i * math.log(p)
        )
        for i in range(k)
    ]
    return 1 - math.fsum(pmf)


@pytest.mark.parametrize(
    ("k", "mean", "dispersion"),
    [(5, 1.0, 0.5), (30, 10.0, 0.1), (200, 100.0, 0.05), (3, 0.2, 1.0), (50, 40.0, 2.0)],
)
def test_negative_binomial_tail_matches_the_sum_of_the_pmf(
    k: int, mean: float, dispersion: float
) -> None:
    expected = exact_nb_tail(k, mean, dispersion)
    assert negative_binomial_tail(k, mean, dispersion) == pytest.approx(expected, rel=1e-9)


def test_overdispersion_makes_a_count_less_surprising() -> None:
    assert negative_binomial_tail(30, 10, 0.25) > negative_binomial_tail(30, 10, 0.01)
    assert negative_binomial_tail(30, 10, 0.0) == poisson_tail(30, 10)


@pytest.mark.parametrize(("k", "n", "p"), [(3, 10, 0.1), (14, 20, 0.3), (1, 1, 0.5)])
def test_binomial_tail_matches_the_sum_of_the_pmf(k: int, n: int, p: float) -> None:
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert binomial_tail(k, n, p, 0.0) == pytest.approx(exact, rel=1e-9)


def test_thread_correlation_makes_a_share_less_surprising() -> None:
    assert binomial_tail(14, 20, 0.3, 0.05) > binomial_tail(14, 20, 0.3, 0.0)
    assert binomial_tail(21, 20, 0.3, 0.0) == 0.0
