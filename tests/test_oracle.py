"""The oracle: Page's CUSUM with the true baseline, its delays and its calibration."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from buzzwatch.evaluation.oracle import (
    BrandCalibration,
    Calibration,
    MinuteCounts,
    OracleRun,
    alarm_minutes,
    calibrate,
    calibrate_threshold,
)
from pipeline.sentiment import SentimentRouter
from pipeline.synthetic import (
    DEMO_START,
    BrandProfile,
    Incident,
    Scenario,
    baseline_rates,
    generate,
)
from tests.helpers import ANGRY_TEXT, HAPPY_TEXT, mention

MINUTE = timedelta(minutes=1)
WEEK = 7 * 1440
STREAMS = 400
SOURCES = {"google_reviews": 0.6, "facebook": 0.4}


def first_delays(alarms: list[list[int]]) -> list[int]:
    """Minutes from the start of each stream to the end of its first alarm's minute."""
    return [stream[0] + 1 for stream in alarms]


def test_a_step_in_the_volume_is_found_after_h_over_the_expected_llr() -> None:
    """Streams that start at the change: the zero-state delay of a CUSUM is h over the mean
    log-likelihood ratio per minute, plus the overshoot of its last minute."""
    rng = np.random.default_rng(3)
    normal, changed, h = 2.0, 4.0, 6.0
    mentions = rng.poisson(changed, size=(200, STREAMS))
    alarms = alarm_minutes(
        mentions,
        np.zeros_like(mentions),
        np.full((200, STREAMS), normal),
        np.zeros(STREAMS),
        rhos=(2.0,),
        thresholds=np.full(STREAMS, h),
    )
    theory = h / (changed * math.log(2) - normal)  # 7.8 minutes
    assert theory <= np.mean(first_delays(alarms)) <= theory + 2


def test_a_step_in_the_negatives_is_found_by_their_own_cusum() -> None:
    """Negatives double on a volume up by a quarter: the volume's CUSUM drifts down, the
    negatives' one finds the change after h over its own mean log-likelihood ratio."""
    rng = np.random.default_rng(4)
    normal, share, h = 4.0, 0.25, 5.0
    negatives = rng.poisson(2 * normal * share, size=(200, STREAMS))
    mentions = negatives + rng.poisson(normal * (1 - share), size=(200, STREAMS))
    alarms = alarm_minutes(
        mentions,
        negatives,
        np.full((200, STREAMS), normal),
        np.full(STREAMS, share),
        rhos=(2.0,),
        thresholds=np.full(STREAMS, h),
    )
    theory = h / (2 * normal * share * math.log(2) - normal * share)  # 12.9 minutes
    assert 0.95 * theory <= np.mean(first_delays(alarms)) <= theory + 2


def test_a_cusum_tuned_to_a_larger_jump_finds_a_large_jump_sooner() -> None:
    rng = np.random.default_rng(5)
    mentions = rng.poisson(8 * 0.5, size=(120, STREAMS))  # eight times 0.5 a minute
    common = (mentions, np.zeros_like(mentions), np.full((120, STREAMS), 0.5), np.zeros(STREAMS))
    bars = np.full(STREAMS, 6.0)
    doubling = np.mean(first_delays(alarm_minutes(*common, rhos=(2.0,), thresholds=bars)))
    both = np.mean(first_delays(alarm_minutes(*common, rhos=(2.0, 8.0), thresholds=bars)))
    assert both < 0.8 * doubling


def test_alarms_restart_the_sums_and_calm_streams_stay_quiet() -> None:
    counts = np.zeros((30, 2), dtype=int)
    counts[5:7, 0] = 10  # 20 mentions in two minutes where one is expected in 30
    alarms = alarm_minutes(
        counts,
        np.zeros_like(counts),
        np.full((30, 2), 1 / 30),
        np.zeros(2),
        rhos=(2.0,),
        thresholds=np.array([5.0, 5.0]),
    )
    # 10 ln 2 = 6.9 >= 5 at minute 5: alarm and restart; minute 6 alone alarms again
    assert alarms == [[5, 6], []]


def test_calibration_gives_the_asked_false_alarm_rate_on_other_streams() -> None:
    week_rates = 0.5 * (1 + 0.8 * np.sin(np.arange(WEEK) * 2 * math.pi / 1440))  # a daily cycle
    share = 0.2

    def calibrated(target: float, weeks: int) -> tuple[float, float]:
        return calibrate_threshold(
            week_rates, share, rhos=(2.0,), target=target, streams=100, weeks=weeks, seed=1
        )

    h, rate = calibrated(0.3, weeks=5)
    assert 0.8 * 0.3 <= rate <= 0.3 and 3 < h < 15
    assert calibrated(3.0, weeks=1)[0] < h  # more false alarms allowed: a lower bar
    rng = np.random.default_rng(99)  # independent of the calibration's streams
    mentions = rng.poisson(week_rates[:, np.newaxis], size=(WEEK, 500))
    alarms = alarm_minutes(
        mentions,
        rng.binomial(mentions, share),
        week_rates[:, np.newaxis],
        np.full(500, share),
        rhos=(2.0,),
        thresholds=np.full(500, h),
    )
    assert 0.2 <= sum(map(len, alarms)) / 500 <= 0.42  # 0.3 per brand-week, give or take


def test_calibrated_oracle_on_streams_the_generator_writes() -> None:
    """A year of two small brands' incident-free mentions, scored by the engine's scorer and
    cut into weeks: about 0.3 false alarms per brand-week, as calibrated on drawn counts."""
    brands = (
        BrandProfile("bakery", "@bakery", 60, 0.95, 0.06, "bakery", SOURCES),
        BrandProfile("cafe", "@cafe", 100, 0.5, 0.1, "food", SOURCES),
    )
    year = Scenario(DEMO_START, 364, brands, seed=7)
    scorer = SentimentRouter(cache_size=100_000)
    calibration = calibrate(year, scorer, brand_weeks=200)
    counts = MinuteCounts(year, scorer)
    for _ in counts.tap(generate(year)):
        pass
    weeks = year.days // 7
    false_alarms = 0
    for brand in brands:
        oracle = calibration.of(brand.name)
        assert 0.05 < oracle.negative_share < 0.4 and oracle.sampled >= 10_000
        measured = counts.negatives(brand.name).sum() / counts.mentions(brand.name).sum()
        assert measured == pytest.approx(oracle.negative_share, abs=0.02)
        alarms = alarm_minutes(
            counts.mentions(brand.name).reshape(weeks, WEEK).T,
            counts.negatives(brand.name).reshape(weeks, WEEK).T,
            np.array(baseline_rates(year, brand)).reshape(weeks, WEEK).T,
            np.full(weeks, oracle.negative_share),
            rhos=calibration.rhos,
            thresholds=np.full(weeks, oracle.threshold),
        )
        false_alarms += sum(map(len, alarms))
    assert 12 <= false_alarms <= 55  # 31 expected in 104 brand-weeks


def test_minute_counts_count_mentions_and_negatives_per_minute() -> None:
    scenario = Scenario(
        DEMO_START, 1, (BrandProfile("acme", "@acme", 10, 0, 0.1, "food", SOURCES),)
    )
    stream = [
        mention(0.5, HAPPY_TEXT),
        mention(0.9, ANGRY_TEXT),
        mention(2.1, ANGRY_TEXT, id="again"),
        mention(3, HAPPY_TEXT, brand="other"),
        mention(-1, ANGRY_TEXT, id="before"),
    ]
    counts = MinuteCounts(scenario, SentimentRouter())
    assert list(counts.tap(stream)) == stream  # passed on untouched
    assert counts.mentions("acme")[:4].tolist() == [2, 0, 1, 0]
    assert counts.negatives("acme")[:4].tolist() == [1, 0, 1, 0]
    assert counts.mentions("acme").sum() == 3 and len(counts.mentions("acme")) == 1440
    assert counts.mentions("other")[3] == 1 and counts.negatives("nobody").sum() == 0


def test_first_alarm_is_looked_for_after_the_onset_up_to_the_window_end() -> None:
    calibration = Calibration((2.0,), 0.3, 10, (BrandCalibration("a", 0.1, 100, 5.0, 0.3),))
    times = tuple(DEMO_START + k * 10 * MINUTE for k in (1, 3))
    run = OracleRun(calibration, {"a": times})
    assert run.first_alarm("a", DEMO_START, DEMO_START + 60 * MINUTE) == times[0]
    assert run.first_alarm("a", times[0], DEMO_START + 60 * MINUTE) == times[1]
    assert run.first_alarm("a", times[0], times[1] - MINUTE) is None
    assert run.first_alarm("b", DEMO_START, DEMO_START + 60 * MINUTE) is None


def test_calibration_refuses_its_own_seed() -> None:
    brand = BrandProfile("a", "@a", 10, 0, 0.1, "food", SOURCES)
    crisis = Incident("a", "crisis", DEMO_START + 600 * MINUTE, 60 * MINUTE, 5)
    with pytest.raises(ValueError, match="calibration's own"):
        calibrate(Scenario(DEMO_START, 1, (brand,), (crisis,), seed=-1), SentimentRouter())
