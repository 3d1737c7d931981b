"""Baselines: what a bucket's count should be when nothing unusual happens.

The expected mention count of a bucket is a robust level times a seasonal profile (the hour
of the day and the day of the week, learnt from the brand's own history). Noise is modelled
as negative binomial, Var = m + k·m², with the dispersion k learnt per window length, which
behaves like Poisson for a bakery with a few mentions a day and like a relative error for a
brand with thousands an hour.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable

DAY_SECONDS = 86_400
HOURS_PER_DAY = 24
DAYS_PER_WEEK = 7
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


class Ewma:
    """Exponentially weighted mean with bias correction: exact while few values are seen."""

    __slots__ = ("total", "weight")

    def __init__(self, total: float = 0.0, weight: float = 0.0) -> None:
        self.total = total
        self.weight = weight

    def update(self, value: float, rate: float) -> None:
        self.total = self.total * (1 - rate) + rate * value
        self.weight = self.weight * (1 - rate) + rate

    def update_exposed(self, count: float, exposure: float, rate: float) -> None:
        """Account `count` events seen over `exposure` (the share of the usual rate the moment
        had): the value becomes the decayed events over the decayed exposure, Σx / Σf, the
        Poisson rate's maximum-likelihood estimate, where the mean of x / f would weigh a count
        seen at a low exposure many times over."""
        self.total = self.total * (1 - rate) + rate * count
        self.weight = self.weight * (1 - rate) + rate * exposure

    def update_many(self, value: float, rate: float, times: int) -> None:
        """`update(value, rate)` `times` times over, in one step."""
        keep = (1 - rate) ** times
        self.total = self.total * keep + value * (1 - keep)
        self.weight = self.weight * keep + (1 - keep)

    def value(self, default: float) -> float:
        return self.total / self.weight if self.weight > 1e-12 else default

    def state(self) -> list[float]:
        return [self.total, self.weight]


class SeasonalProfile:
    """Relative activity by hour of day (interpolated) and by day of week.

    Each factor is a ratio of decayed sums, observed / expected-if-flat, shrunk towards one by
    `prior` pseudo-mentions: a bakery's profile stays flat until its few mentions show a
    pattern, a big brand's follows its data within days.
    """

    def __init__(self, prior: float, state: dict[str, list[list[float]]] | None = None) -> None:
        self.prior = prior
        state = state or {}
        hourly = state.get("hourly") or [[0.0, 0.0] for _ in range(HOURS_PER_DAY)]
        daily = state.get("daily") or [[0.0, 0.0] for _ in range(DAYS_PER_WEEK)]
        self.hourly = [list(sums) for sums in hourly]  # copies: a snapshot stays as it was
        self.daily = [list(sums) for sums in daily]

    def factor(self, t: int) -> float:
        lo, hi, w = _hour_slots(t)
        hour = self._ratio(self.hourly[lo]) * (1 - w) + self._ratio(self.hourly[hi]) * w
        return hour * self._ratio(self.daily[_weekday(t)])

    def learn(
        self,
        t: int,
        observed: float,
        level: float,
        rates: tuple[float, float],
        pace: float = 1.0,
    ) -> None:
        """Account one bucket of `observed` mentions where the flat level predicted `level`.

        `rates` are the hourly and daily forgetting rates; `pace` < 1 weighs the bucket less
        (and forgets less), as during an incident.
        """
        hour_rate, day_rate = rates[0] * pace, rates[1] * pace
        lo, hi, w = _hour_slots(t)
        day = self._ratio(self.daily[_weekday(t)])
        for slot, share in ((lo, 1 - w), (hi, w)):
            sums = self.hourly[slot]
            keep = 1 - hour_rate * share
            weight = share * pace
            sums[0] = sums[0] * keep + weight * observed
            sums[1] = sums[1] * keep + weight * level * day
        hour = self._ratio(self.hourly[lo]) * (1 - w) + self._ratio(self.hourly[hi]) * w
        sums = self.daily[_weekday(t)]
        sums[0] = sums[0] * (1 - day_rate) + pace * observed
        sums[1] = sums[1] * (1 - day_rate) + pace * level * hour

    def state(self) -> dict[str, list[list[float]]]:
        return {
            "hourly": [list(sums) for sums in self.hourly],
            "daily": [list(sums) for sums in self.daily],
        }

    def _ratio(self, sums: list[float]) -> float:
        return (sums[0] + self.prior) / (sums[1] + self.prior)


PRIOR_K = 0.2
PRIOR_BUCKETS = 50.0


class Dispersion:
    """Negative-binomial dispersion k of sums over a window, from Var = m + k·m².

    E[(x − m)² − x] = k·m², so k is the ratio of two running means.
    """

    __slots__ = ("_known", "excess", "scale")
    FLOOR = 0.002
    CEILING = 4.0

    def __init__(self, excess: Ewma | None = None, scale: Ewma | None = None) -> None:
        self.excess = excess or Ewma()
        self.scale = scale or Ewma()
        self._known: tuple[float, float] | None = None  # (rate, k) until the next `learn`

    def k(self, rate: float) -> float:
        """The dispersion, shrunk towards PRIOR_K while the evidence is thin (small counts)."""
        known = self._known
        if known is not None and known[0] == rate:
            return known[1]
        prior = PRIOR_BUCKETS * rate  # worth PRIOR_BUCKETS buckets of one expected mention
        k = (self.excess.total + PRIOR_K * prior) / (self.scale.total + prior)
        k = min(self.CEILING, max(self.FLOOR, k))
        self._known = (rate, k)
        return k

    def learn(self, counts: Iterable[tuple[float, float]], rate: float) -> None:
        """Learn each (observed, expected) pair in turn, at `rate`."""
        excess, scale, keep = self.excess, self.scale, 1 - rate
        excess_total, excess_weight = excess.total, excess.weight
        scale_total, scale_weight = scale.total, scale.weight
        for observed, expected in counts:  # `Ewma.update`, inlined: one call for many pairs
            excess_total = excess_total * keep + rate * ((observed - expected) ** 2 - observed)
            excess_weight = excess_weight * keep + rate
            scale_total = scale_total * keep + rate * (expected * expected)
            scale_weight = scale_weight * keep + rate
        excess.total, excess.weight = excess_total, excess_weight
        scale.total, scale.weight = scale_total, scale_weight
        self._known = None

    def state(self) -> list[list[float]]:
        return [self.excess.state(), self.scale.state()]


class Spread:
    """Typical size of the log-ratio of observed to expected, as a robust running mean of |r|.

    Each value is clipped at `clip` times the current spread before it is learnt, so a
    crisis does not teach the brand that crises are normal.
    """

    __slots__ = ("mean",)
    INITIAL = 0.3
    FLOOR = 0.03

    def __init__(self, mean: Ewma | None = None) -> None:
        self.mean = mean or Ewma()

    @property
    def value(self) -> float:
        return max(self.FLOOR, self.mean.value(self.INITIAL))

    def learn(self, log_ratios: Iterable[float], rate: float, clip: float) -> None:
        """Learn each ratio in turn, at `rate`, clipped at `clip` times the spread so far."""
        mean, keep = self.mean, 1 - rate
        total, weight = mean.total, mean.weight
        for ratio in log_ratios:  # `value` and `Ewma.update`, inlined
            spread = max(self.FLOOR, total / weight if weight > 1e-12 else self.INITIAL)
            total = total * keep + rate * min(abs(ratio), clip * spread)
            weight = weight * keep + rate
        mean.total, mean.weight = total, weight

    def learn_many(self, log_ratio: float, rate: float, times: int, clip: float) -> None:
        """`learn` the same ratio `times` times over, clipped at the spread it starts from."""
        self.mean.update_many(min(abs(log_ratio), clip * self.value), rate, times)


class DailyPeaks:
    """The largest value of each of the last days (event-time UTC days): a window's counts.

    `largest` is the record of those days, from which a window's floor is taken: a brand whose
    recent news brought a big count is not paged for a much smaller one. It is asked for at
    every bucket and changes at most once a day, so the last answer is kept until a row it may
    depend on changes.
    """

    def __init__(self, days: int, rows: list[list[float]] | None = None) -> None:
        self.days = days
        self._rows = deque((list(row) for row in rows or []), maxlen=days + 1)
        self._known: tuple[int, float] | None = None  # (today, largest) of the last answer

    def observe(self, day: int, value: float) -> None:
        rows = self._rows
        if rows and rows[-1][0] == day:
            rows[-1][1] = max(rows[-1][1], value)
            if self._known is not None and self._known[0] == day:
                return  # today's own row: not part of today's answer
        else:
            rows.append([day, value])
        self._known = None

    def largest(self, today: int) -> float:
        """The largest peak of the days before `today` (0 if there are none)."""
        known = self._known
        if known is None or known[0] != today:
            rows = self._rows
            peak = max((peak for day, peak in rows if 0 < today - day <= self.days), default=0.0)
            known = self._known = (today, peak)
        return known[1]

    def state(self) -> list[list[float]]:
        return [list(row) for row in self._rows]


class RecentSums:
    """Observed and expected counts of the last buckets, summed over several window lengths.

    Sums are exact (`math.fsum`, correctly rounded whatever the order), so they do not depend
    on how they are computed.
    """

    def __init__(self, windows: tuple[int, ...], rows: list[list[float]] | None = None) -> None:
        self.windows = tuple(sorted(windows))
        kept = self.windows[-1] - 1
        self._observed: deque[float] = deque(maxlen=kept)
        self._expected: deque[float] = deque(maxlen=kept)
        # sums asked for since the last push, by bucket values: a bucket is judged, then
        # learnt from, with the same values
        self._asked: dict[tuple[float, float], list[tuple[int, float, float]]] = {}
        for observed, expected in rows or []:
            self.push(observed, expected)

    def sums(self, observed: float, expected: float) -> list[tuple[int, float, float]]:
        """(window, observed sum, expected sum) for each window, the current bucket included."""
        known = self._asked.get((observed, expected))
        if known is not None:
            return known
        latest_o = [observed, *reversed(self._observed)]
        latest_e = [expected, *reversed(self._expected)]
        sums = [
            (window, math.fsum(latest_o[:window]), math.fsum(latest_e[:window]))
            for window in self.windows
        ]
        self._asked[observed, expected] = sums
        return sums

    def push(self, observed: float, expected: float) -> None:
        self._observed.append(observed)
        self._expected.append(expected)
        self._asked.clear()

    def latest(self, count: int) -> float:
        """The sum of the last `count` observed counts (0 for none)."""
        if count <= 0:
            return 0.0
        observed = self._observed
        return math.fsum(itertools.islice(observed, max(0, len(observed) - count), None))

    def push_many(self, observed: float, expected: list[float]) -> None:
        """`push` a bucket of `observed` for each value of `expected` (only the last ones are
        kept)."""
        kept = expected[max(0, len(expected) - (self._observed.maxlen or 0)) :]
        self._observed.extend([observed] * len(kept))
        self._expected.extend(kept)
        self._asked.clear()

    def state(self) -> list[list[float]]:
        return [[o, e] for o, e in zip(self._observed, self._expected, strict=True)]


def _hour_slots(t: int) -> tuple[int, int, float]:
    hour = (t % DAY_SECONDS) / 3600.0
    lo = int(hour)
    return lo, (lo + 1) % HOURS_PER_DAY, hour - lo


def _weekday(t: int) -> int:
    return (t // DAY_SECONDS + _EPOCH_WEEKDAY) % DAYS_PER_WEEK
