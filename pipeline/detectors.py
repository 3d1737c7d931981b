"""Spike rules over closed buckets, as small estimators with `score_one` / `learn_one`.

Each rule compares a bucket with a rolling baseline of the same brand's recent buckets and
answers with the tail probability of what it saw: how unlikely a count at least this high is
if nothing unusual were happening.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from pipeline.settings import DetectionSettings, RuleSettings
from pipeline.stats import poisson_tail, quasi_poisson_tail


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a rule concluded about one bucket."""

    observed: float
    expected: float
    tail: float
    fires: bool
    calm: bool
    critical: bool

    @property
    def score(self) -> float:
        """1 − tail: how far into the unusual the bucket is, in [0, 1]."""
        return 1.0 - self.tail


def judge(rule: RuleSettings, observed: float, expected: float, tail: float, warm: bool) -> Verdict:
    """Apply a rule's thresholds to a tail probability."""
    fires = warm and observed >= rule.min_count and tail <= rule.alpha
    return Verdict(
        observed=observed,
        expected=expected,
        tail=tail,
        fires=fires,
        calm=tail > rule.resolve_alpha,
        critical=fires and tail <= rule.critical_alpha,
    )


class RollingWindow:
    """The last `size` values, with their running sum and sum of squares."""

    def __init__(self, size: int, values: list[float] | None = None) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self.total = 0.0
        self.total_sq = 0.0
        for value in values or []:
            self.append(value)

    def append(self, value: float) -> None:
        if len(self._values) == self._values.maxlen:
            old = self._values[0]
            self.total -= old
            self.total_sq -= old * old
        self._values.append(value)
        self.total += value
        self.total_sq += value * value

    def __len__(self) -> int:
        return len(self._values)

    @property
    def mean(self) -> float:
        return self.total / len(self._values) if self._values else 0.0

    @property
    def variance(self) -> float:
        n = len(self._values)
        if n < 2:
            return 0.0
        return max(0.0, (self.total_sq - self.total * self.total / n) / (n - 1))

    def values(self) -> list[float]:
        return list(self._values)


class VolumeRule:
    """Mentions per bucket against the rolling mean, as an over-dispersed Poisson count."""

    def __init__(self, settings: DetectionSettings, history: list[float] | None = None) -> None:
        self._settings = settings
        self._window = RollingWindow(settings.baseline_buckets, history)
        self._seen = len(self._window)

    def score_one(self, volume: int) -> Verdict:
        w = self._window
        floor_rate = 1.0 / self._settings.baseline_buckets
        expected = max(w.mean, floor_rate)
        dispersion = w.variance / expected if w.mean > 0 else 1.0
        tail = quasi_poisson_tail(volume, expected, dispersion)
        warm = self._seen >= self._settings.warmup_buckets
        return judge(self._settings.volume, volume, w.mean, tail, warm)

    def learn_one(self, volume: int) -> None:
        self._window.append(volume)
        self._seen += 1

    def state(self) -> dict[str, Any]:
        return {"history": self._window.values(), "seen": self._seen}

    @classmethod
    def from_state(cls, settings: DetectionSettings, state: dict[str, Any]) -> VolumeRule:
        rule = cls(settings, state["history"])
        rule._seen = state["seen"]
        return rule


class NegativeRule:
    """Negative mentions against what the brand's recent negative share predicts.

    The expected count is this bucket's volume times the baseline share, so a burst of happy
    mentions (a positive viral moment) raises the expectation with it and does not fire.
    """

    def __init__(
        self,
        settings: DetectionSettings,
        volumes: list[float] | None = None,
        negatives: list[float] | None = None,
    ) -> None:
        self._settings = settings
        self._volumes = RollingWindow(settings.baseline_buckets, volumes)
        self._negatives = RollingWindow(settings.baseline_buckets, negatives)
        self._seen = len(self._volumes)

    @property
    def baseline_share(self) -> float:
        s = self._settings
        prior = s.negative_prior_weight
        return (self._negatives.total + prior * s.negative_prior_share) / (
            self._volumes.total + prior
        )

    def score_one(self, volume: int, negatives: int) -> Verdict:
        expected = volume * self.baseline_share
        tail = poisson_tail(negatives, expected)
        warm = self._seen >= self._settings.warmup_buckets
        return judge(self._settings.negative, negatives, expected, tail, warm)

    def learn_one(self, volume: int, negatives: int) -> None:
        self._volumes.append(volume)
        self._negatives.append(negatives)
        self._seen += 1

    def state(self) -> dict[str, Any]:
        return {
            "volumes": self._volumes.values(),
            "negatives": self._negatives.values(),
            "seen": self._seen,
        }

    @classmethod
    def from_state(cls, settings: DetectionSettings, state: dict[str, Any]) -> NegativeRule:
        rule = cls(settings, state["volumes"], state["negatives"])
        rule._seen = state["seen"]
        return rule
