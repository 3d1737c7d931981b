"""Page's CUSUM: its log-likelihood ratios, its false-alarm rate, and ramps in the engine."""

from __future__ import annotations

import math
import random

import pytest

from pipeline.engine import Engine
from pipeline.models import Mention
from pipeline.sequential import (
    Cusum,
    alarm_level,
    count_llr,
    fewest_counts,
    fewest_observed,
    share_llr,
)
from pipeline.settings import DetectionSettings, detection_settings
from tests.helpers import ANGRY_TEXT, CALM_TEXTS, HAPPY_TEXT, T0, mention
from tests.test_engine import run


def test_count_llr_is_poissons_without_dispersion_and_saturates_with_it() -> None:
    assert count_llr(7, 2.0, 0.0, 2.0) == pytest.approx(7 * math.log(2) - 2.0)
    assert count_llr(7, 2.0, 1e-12, 2.0) == pytest.approx(7 * math.log(2) - 2.0, rel=1e-6)
    # each extra mention weighs less on an overdispersed brand: one burst bucket convinces less
    slope_poisson = count_llr(101, 50.0, 0.0, 2.0) - count_llr(100, 50.0, 0.0, 2.0)
    slope_bursty = count_llr(101, 50.0, 0.2, 2.0) - count_llr(100, 50.0, 0.2, 2.0)
    assert 0 < slope_bursty < slope_poisson / 5
    assert count_llr(3, 0.0, 0.1, 2.0) == 0.0


def test_share_llr_weighs_for_a_risen_share_and_against_the_usual_one() -> None:
    assert share_llr(8, 10, 0.15, 4.0, 0.0) > 5  # 8 of 10 at a usual 15 %
    assert share_llr(15, 100, 0.15, 4.0, 0.0) < 0  # the usual share
    alone = share_llr(30, 100, 0.15, 4.0, 0.0)
    threaded = share_llr(30, 100, 0.15, 4.0, 0.02)
    assert threaded == pytest.approx(alone / (1 + 0.02 * 99))
    assert share_llr(0, 0, 0.15, 4.0, 0.02) == 0.0


def test_fewer_negatives_than_the_fewest_cannot_bring_the_evidence_up_to_need() -> None:
    # The bounds early checks and closes skip judging by: below them no volume, expected count
    # or dispersion gives the evidence needed; at the share bound's count, all of it negative
    # does (the bound is tight), and a share whose evidence stays below the need has none.
    rng = random.Random(5)
    for _ in range(2000):
        need, share = rng.uniform(-1.0, 12.0), rng.uniform(0.001, 0.999)
        change, correlation = rng.choice([1.01, 1.5, 2.0, 4.0, 8.0, 16.0]), rng.uniform(0.0, 0.9)
        by_share = fewest_observed(need, share, change, correlation)
        by_count = fewest_counts(need, change)
        for n in range(0, 60):
            if n < by_share:
                for volume in (n, n + 1, 2 * n + 3, 10 * n + 50):
                    assert share_llr(n, volume, share, change, correlation) < need
            if n < by_count:
                for expected in (1e-6, 0.1, 1.0, 10.0):
                    for dispersion in (0.0, 0.05, 1.0):
                        assert count_llr(n, expected, dispersion, change) < need
        if need <= 0:  # a run already at its level: any count may fire it
            assert by_share <= 0 and by_count <= 0
            assert fewest_observed(need, 0.0, change, correlation) <= 0
            continue
        if by_share < 60:  # tight: that many negatives, all of the volume, bring the need
            fewest = max(1, math.ceil(by_share))
            assert share_llr(fewest, fewest, share, change, correlation) >= need * (1 - 1e-9)
        if by_count < 60:  # tight as the expected count shrinks to nothing
            assert count_llr(math.ceil(by_count), 1e-12, 0.0, change) >= need * (1 - 1e-9)
        elif by_share == math.inf:  # the evidence of any count stays below the need
            assert share_llr(10_000, 10_000, share, change, correlation) < need


def test_alarm_level_is_the_log_of_the_buckets_between_false_alarms() -> None:
    assert alarm_level(10, 300) == pytest.approx(math.log(10 * 7 * 288))


def test_cusum_restarts_at_zero_and_reports_its_run() -> None:
    cusum = Cusum()
    assert cusum.push(-1.0, 1, 1).statistic == 0.0
    cusum.push(2.0, 5, 1)
    peeked = cusum.peek(3.0, 7, 2)
    assert (peeked.statistic, peeked.observed, peeked.expected, peeked.buckets) == (5, 12, 3, 2)
    assert cusum.run.statistic == 2.0  # a peek changes nothing
    assert cusum.push(-2.5, 0, 1).buckets == 0  # below zero: no run
    assert Cusum(cusum.state()).run == cusum.run


def test_false_alarms_are_rarer_than_lordens_bound_on_the_baseline() -> None:
    rnd = random.Random(5)
    level, mean, buckets = 5.0, 1.5, 100_000
    cusum, alarms = Cusum(), 0
    for _ in range(buckets):
        count = _poisson(rnd, mean)
        if cusum.push(count_llr(count, mean, 0.0, 2.0), count, mean).statistic >= level:
            alarms += 1
            cusum.reset()
    assert 0 < alarms <= buckets / math.exp(level)  # one alarm per e^h buckets at most


def _poisson(rnd: random.Random, mean: float) -> int:
    count, product, limit = 0, rnd.random(), math.exp(-mean)
    while product > limit:
        count += 1
        product *= rnd.random()
    return count


ONSET = 2 * 24 * 60 + 600  # minutes after T0: day 3, 10:00


def _ramp(minutes: int, per_hour_at_peak: float) -> list[float]:
    """Minutes after the onset of a linear ramp from nothing to `per_hour_at_peak` over
    `minutes`, then as many minutes again at the peak."""
    times: list[float] = []
    due = 0.0
    for minute in range(2 * minutes):
        due += per_hour_at_peak / 60 * min(1.0, minute / minutes)
        while due >= 1:
            times.append(minute + 0.5)
            due -= 1
    return times


def _small_brand(ramp: list[float], text: str) -> list[Mention]:
    """A shop with 5 mentions an hour for three days, one in seven of them a complaint, and
    `text` at the ramp's minutes."""
    usual = [*CALM_TEXTS, *CALM_TEXTS[:2], ANGRY_TEXT]
    calm = [mention(m, usual[m % 7], brand="shop") for m in range(0, 3 * 24 * 60, 12)]
    burst = [mention(ONSET + m, text, brand="shop", id=f"r{i}") for i, m in enumerate(ramp)]
    return calm + burst


def _first_negative(mentions: list[Mention], settings: DetectionSettings) -> float | None:
    """Minutes from the onset to the first negative alert, None without one."""
    events = run(mentions, Engine(settings))
    firing = [e.at for e in events if e.kind == "negative" and e.state == "firing"]
    return (firing[0] - T0).total_seconds() / 60 - ONSET if firing else None


def test_a_ramped_crisis_fires_earlier_on_accumulated_evidence() -> None:
    # a shop with 5 mentions an hour; angry mentions ramp from 0 to 30 an hour over an hour
    mentions = _small_brand(_ramp(60, 30), ANGRY_TEXT)
    sequential = _first_negative(mentions, DetectionSettings())
    windows_only = _first_negative(mentions, DetectionSettings(sequential={"negative_changes": ()}))
    assert sequential is not None and windows_only is not None
    assert sequential < windows_only
    assert sequential <= 45


def test_a_positive_viral_ramp_raises_no_negative_alert() -> None:
    mentions = _small_brand(_ramp(60, 120), HAPPY_TEXT)
    assert _first_negative(mentions, DetectionSettings()) is None


def test_each_change_weighed_for_is_a_rise() -> None:
    with pytest.raises(ValueError, match="must each be above 1"):
        DetectionSettings(sequential={"negative_changes": (0.5, 4.0)})


def test_a_partial_rule_table_keeps_the_detectors_other_defaults() -> None:
    settings = detection_settings({"detection": {"volume": {"record_share": 0.2}}})
    assert settings.volume.record_share == 0.2
    assert settings.volume.min_count == DetectionSettings().volume.min_count == 6


def test_changes_are_sorted_once_each_and_finite() -> None:
    assert DetectionSettings(sequential={"negative_changes": (16, 2, 2)}).sequential == (
        DetectionSettings(sequential={"negative_changes": (2, 16)}).sequential
    )
    with pytest.raises(ValueError, match="finite"):
        DetectionSettings(sequential={"negative_changes": (float("nan"),)})


def test_a_false_alarm_span_under_one_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="more than one bucket"):
        DetectionSettings(sequential={"false_alarm_weeks": 1e-4})
