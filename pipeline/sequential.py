"""Sequential evidence: Page's CUSUM on log-likelihood ratios of the buckets' counts.

A crisis that ramps up as a post spreads adds little to each bucket but much in total. Page's
CUSUM keeps S = max(0, S + LLR) over the buckets, where the LLR weighs a bucket's count under
"the rate is multiplied by ρ" against "the baseline holds": S is the log of the largest
likelihood ratio of any change point so far, and an alarm at S >= h is the earliest moment
the evidence reaches odds of e^h. By Lorden's bound the mean time between false alarms is at
least e^h buckets, so h follows from the false-alarm rate asked for, not from a tuned bar.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

WEEK_SECONDS = 7 * 86_400


def count_llr(observed: float, expected: float, dispersion: float, ratio: float) -> float:
    """log P(x | mean ρ·m) / P(x | mean m) for a negative binomial count, Var = m + k·m².

    Both hypotheses share the size 1/k, so one bucket's evidence saturates on an overdispersed
    brand: a burst must last to convince, while a Poisson-like small brand's few mentions weigh
    in full (k → 0 gives Poisson's x·log ρ − (ρ − 1)·m).
    """
    if expected <= 0:
        return 0.0
    if dispersion <= 1e-9:
        return observed * math.log(ratio) - (ratio - 1.0) * expected
    size = 1.0 / dispersion
    shifted = size + ratio * expected
    return observed * math.log(ratio * (size + expected) / shifted) + size * math.log(
        (size + expected) / shifted
    )


def share_llr(
    observed: float, trials: float, share: float, odds: float, correlation: float
) -> float:
    """Log-likelihood ratio of `observed` of `trials` at a share with `odds` times its odds.

    Quasi-binomial: mentions come in threads, so the evidence is divided by the design effect
    1 + r·(n − 1) of an intra-thread correlation r, as the share test does.
    """
    if trials <= 0 or not 0 < share < 1:
        return 0.0
    shifted = _shifted(share, odds)
    llr = observed * math.log(shifted / share) + (trials - observed) * math.log(
        (1.0 - shifted) / (1.0 - share)
    )
    return llr / (1.0 + correlation * max(trials - 1.0, 0.0))


def _shifted(share: float, odds: float) -> float:
    """The share whose odds are `odds` times those of `share`."""
    return odds * share / (1.0 - share + odds * share)


def fewest_counts(need: float, ratio: float) -> float:
    """The fewest counts whose `count_llr` can reach `need`, whatever count was expected: the
    evidence of x counts falls as the expected count grows, and tends to x·log ρ as it shrinks
    to nothing."""
    return need / math.log(ratio)


def fewest_observed(need: float, share: float, odds: float, correlation: float) -> float:
    """The fewest observed, of any number of trials, whose `share_llr` can reach `need`
    (infinite if none can): with x observed the evidence is largest when the trials are x,
    x·a / (1 + r·(x − 1)) with a the log-ratio of the shares, which grows with x towards a / r."""
    if need <= 0:
        return need  # no evidence needed: any count
    if not 0 < share < 1:
        return math.inf
    gain = math.log(_shifted(share, odds) / share)  # as `share_llr` weighs each observed
    room = gain - need * correlation
    return need * (1.0 - correlation) / room if room > 0 else math.inf


def alarm_level(false_alarm_weeks: float, bucket_seconds: int) -> float:
    """The CUSUM threshold h whose false alarms come at most once in `false_alarm_weeks`."""
    return math.log(false_alarm_weeks * WEEK_SECONDS / bucket_seconds)


class Run(NamedTuple):
    """The CUSUM after a bucket: its statistic and the counts since it last left zero.

    `side` sums another test's evidence over the same buckets, so a change can be required
    to show in both over one span.
    """

    statistic: float
    observed: float
    expected: float
    buckets: int
    side: float = 0.0


QUIET_RUN = Run(0.0, 0.0, 0.0, 0)


class Cusum:
    """Page's CUSUM with the run it accumulates (what an alert reports as its window)."""

    __slots__ = ("run",)

    def __init__(self, state: list[Any] | None = None) -> None:
        self.run = Run(*state) if state else QUIET_RUN

    def peek(self, llr: float, observed: float, expected: float, side: float = 0.0) -> Run:
        """The run if a bucket with this evidence closed now (nothing is changed)."""
        run = self.run
        statistic = run.statistic + llr
        if statistic <= 0:
            return QUIET_RUN
        if run.statistic <= 0:  # a new run starts with this bucket
            return Run(statistic, observed, expected, 1, side)
        return Run(
            statistic,
            run.observed + observed,
            run.expected + expected,
            run.buckets + 1,
            run.side + side,
        )

    def push(self, llr: float, observed: float, expected: float, side: float = 0.0) -> Run:
        """Account one closed bucket."""
        self.run = self.peek(llr, observed, expected, side)
        return self.run

    def drift(self, llr: float, expected: float, buckets: int) -> None:
        """Account `buckets` buckets without a mention, each with evidence `llr` <= 0 and
        `expected` counts, in one step: the same as one by one, as the statistic only falls."""
        run = self.run
        statistic = run.statistic + buckets * llr
        if run.statistic <= 0 or statistic <= 0:
            self.run = QUIET_RUN
        else:
            self.run = Run(
                statistic,
                run.observed,
                run.expected + buckets * expected,
                run.buckets + buckets,
                run.side,
            )

    def reset(self) -> None:
        """Start afresh, as after an alarm."""
        self.run = QUIET_RUN

    def state(self) -> list[Any]:
        return list(self.run)
