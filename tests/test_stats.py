import math

import pytest

from pipeline.stats import poisson_tail, quasi_poisson_tail


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


def test_overdispersion_makes_a_count_less_surprising() -> None:
    assert quasi_poisson_tail(30, 10, 4.0) > quasi_poisson_tail(30, 10, 1.0)
    assert quasi_poisson_tail(30, 10, 0.5) == quasi_poisson_tail(30, 10, 1.0)
