"""The oracle: Page's CUSUM knowing each brand's true baseline, a bound on detection delays.

The oracle knows what no deployed detector can: the generator's expected mentions per minute of
each brand in normal times, λ(t) (`pipeline.synthetic.baseline_rates`), and the share p of a
brand's mentions that the engine's own scorer (`SentimentRouter.is_negative`) reads as negative
in normal times, measured on an incident-free stream of the brand (`negative_share`). On the
per-minute counts of a stream, x(t) mentions of which n(t) are scored negative, it runs two
one-sided CUSUMs, each the Poisson log-likelihood ratio of a rate multiplied by ρ against the
true one:

    V(t) = max(0, V(t-1) + x(t) ln ρ - (ρ - 1) λ(t))
    N(t) = max(0, N(t-1) + n(t) ln ρ - (ρ - 1) p λ(t))

and alarms at the end of the first minute in which either reaches h; all then restart from 0.
ρ is 2 (`RHOS`); given several values, the oracle runs such a pair for each (one tuned to a
doubling, one to a quadrupling...) and alarms when any reaches h. h is calibrated per brand
(`calibrate`): the smallest value (to 0.05) at which the brand's incident-free streams raise
at most `target` false alarms per brand-week.

Calibration streams are drawn at the level the oracle reads them: the generator draws a brand's
background as a Poisson process with rate λ(t) and each mention's text independently, so an
incident-free stream is, minute by minute, Poisson(λ(t)) mentions of which Binomial(x, p) are
scored negative. Drawing those counts (numpy, seeded per brand, independent of any scenario
seed) instead of writing and scoring hundreds of millions of texts is what keeps hundreds of
brand-weeks per brand cheap; a test checks the calibrated h on streams the generator writes.

The oracle is not a detector to deploy: the negatives' CUSUM also fires on a positive viral
moment (its extra volume brings the usual share of texts read as negative) and on a troll
burst. It only bounds how early a crisis or a slow burn can be found at that false-alarm rate,
and is compared to the detector on those alone.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from pipeline.models import Mention
from pipeline.sentiment import SentimentRouter
from pipeline.synthetic import BrandProfile, Scenario, baseline_rates, generate

RHOS: Final = (2.0,)  # the rate increases the CUSUM pairs are tuned to
TARGET_FALSE_PER_BRAND_WEEK: Final = 0.3
CALIBRATION_BRAND_WEEKS: Final = 500  # incident-free brand-weeks per brand
CALIBRATION_SEED: Final = -1  # the negative-share sample's scenario seed: never an evaluated one
NEGATIVE_SAMPLE: Final = 20_000  # mentions scored to measure a brand's negative share
MAX_SAMPLE_DAYS: Final = 364
PARALLEL_STREAMS: Final = 100  # calibration streams run side by side, each of several weeks
MAX_THRESHOLD: Final = 20.0
THRESHOLD_STEPS: Final = (2.0, 0.25, 0.05)  # successively finer grids h is searched on
_MINUTE: Final = timedelta(minutes=1)

Floats = npt.NDArray[np.float64]
Levels = npt.NDArray[np.floating[Any]]  # log-likelihood ratios, single or double
Tallies = npt.NDArray[np.integer[Any]]  # per-minute counts, of one stream or several


@dataclass(frozen=True, slots=True)
class BrandCalibration:
    """One brand's oracle: its negative share p, its threshold h, and how h was set.

    `sampled` mentions were scored to measure p; `false_per_brand_week` is the false-alarm rate
    at h on the calibration streams.
    """

    brand: str
    negative_share: float
    sampled: int
    threshold: float
    false_per_brand_week: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """The oracle of every brand, for CUSUM pairs tuned to each of `rhos` and `target` false
    alarms per brand-week, each calibrated on `brand_weeks` incident-free brand-weeks."""

    rhos: tuple[float, ...]
    target: float
    brand_weeks: int
    brands: tuple[BrandCalibration, ...]

    def of(self, brand: str) -> BrandCalibration:
        return next(b for b in self.brands if b.brand == brand)


@dataclass(frozen=True, slots=True)
class OracleRun:
    """The oracle's alarms on one stream, per brand, in time order."""

    calibration: Calibration
    alarms: Mapping[str, tuple[datetime, ...]]

    def first_alarm(self, brand: str, after: datetime, until: datetime) -> datetime | None:
        """The brand's first alarm in (after, until], or None."""
        times = self.alarms.get(brand, ())
        index = bisect_right(times, after)
        return times[index] if index < len(times) and times[index] <= until else None


class MinuteCounts:
    """Per-minute counts of each brand's mentions and of those the scorer reads as negative.

    `tap` counts the mentions that pass through it. Give it the engine's scorer: the engine
    then finds every text's score in the scorer's cache.
    """

    def __init__(self, scenario: Scenario, scorer: SentimentRouter) -> None:
        self._start = scenario.start
        self._minutes = scenario.minutes
        self._scorer = scorer
        self._all: dict[str, list[int]] = {}
        self._negative: dict[str, list[int]] = {}

    def tap(self, mentions: Iterable[Mention]) -> Iterator[Mention]:
        scorer = self._scorer
        for mention in mentions:
            minute = int((mention.created_at - self._start) / _MINUTE)
            if mention.brand is not None and 0 <= minute < self._minutes:
                self._all.setdefault(mention.brand, []).append(minute)
                if scorer.is_negative(scorer.polarity(mention.text, mention.lang)):
                    self._negative.setdefault(mention.brand, []).append(minute)
            yield mention

    def mentions(self, brand: str) -> Tallies:
        return np.bincount(self._all.get(brand, []), minlength=self._minutes)

    def negatives(self, brand: str) -> Tallies:
        return np.bincount(self._negative.get(brand, []), minlength=self._minutes)


def calibrate(
    scenario: Scenario,
    scorer: SentimentRouter,
    *,
    rhos: tuple[float, ...] = RHOS,
    target: float = TARGET_FALSE_PER_BRAND_WEEK,
    brand_weeks: int = CALIBRATION_BRAND_WEEKS,
    on_brand: Callable[[BrandCalibration], object] | None = None,
) -> Calibration:
    """Measure each brand's negative share and calibrate its threshold (see the module).

    The calibration week follows the scenario's calendar from its start. `on_brand`, if given,
    is told each brand's calibration as it is done.
    """
    if scenario.seed == CALIBRATION_SEED:
        raise ValueError(f"seed {CALIBRATION_SEED} is the calibration's own: evaluate another")
    streams = min(brand_weeks, PARALLEL_STREAMS)
    weeks = math.ceil(brand_weeks / streams)
    brands = []
    for brand in scenario.brands:
        share, sampled = negative_share(scenario, brand, scorer)
        rates = np.array(baseline_rates(Scenario(scenario.start, 7, (brand,)), brand))
        seed = zlib.crc32(f"oracle/{brand.name}".encode())
        threshold, rate = calibrate_threshold(
            rates, share, rhos=rhos, target=target, streams=streams, weeks=weeks, seed=seed
        )
        done = BrandCalibration(brand.name, share, sampled, threshold, rate)
        if on_brand is not None:
            on_brand(done)
        brands.append(done)
    return Calibration(rhos, target, streams * weeks, tuple(brands))


def negative_share(
    scenario: Scenario, brand: BrandProfile, scorer: SentimentRouter
) -> tuple[float, int]:
    """Share of the brand's incident-free mentions that `scorer` reads as negative, and how
    many were scored: the first `NEGATIVE_SAMPLE` of a stream of `CALIBRATION_SEED` (up to
    `MAX_SAMPLE_DAYS` long)."""
    days = min(MAX_SAMPLE_DAYS, max(1, math.ceil(NEGATIVE_SAMPLE / brand.mentions_per_day)))
    calm = Scenario(scenario.start, days, (brand,), seed=CALIBRATION_SEED)
    negatives = sampled = 0
    for mention in islice(generate(calm), NEGATIVE_SAMPLE):
        sampled += 1
        negatives += scorer.is_negative(scorer.polarity(mention.text, mention.lang))
    if not sampled:
        raise ValueError(f"{brand.name}: no mention to measure its negative share on")
    return negatives / sampled, sampled


def calibrate_threshold(
    week_rates: Floats,
    share: float,
    *,
    rhos: tuple[float, ...],
    target: float,
    streams: int,
    weeks: int,
    seed: int,
) -> tuple[float, float]:
    """The smallest h (to the last of `THRESHOLD_STEPS`) with at most `target` false alarms per
    brand-week, and the rate at h.

    `streams` incident-free streams of `weeks` weeks each are drawn once (the same ones for
    every h tried) from `week_rates`, the brand's expected mentions per minute over one week, of
    which a share `share` is negative. h is searched on successively finer grids, each between
    the last failing and the first passing value of the one before.
    """
    counts = list(_calm_weeks(week_rates, share, streams, weeks, seed))
    rates = week_rates[:, np.newaxis]
    low, high, rate = 0.0, MAX_THRESHOLD, math.nan
    for step in THRESHOLD_STEPS:
        grid = np.arange(1, round((high - low) / step) + 1) * step + low
        chunks = (_llr(*week, rates, share, rhos).astype(np.float32) for week in counts)
        hits = (hit.sum(axis=1) for hit in _cusum(chunks, grid[:, np.newaxis]))
        found = sum(hits, np.zeros(len(grid))) / (streams * weeks)  # per brand-week, at each h
        passing = np.flatnonzero(found <= target)
        if not len(passing):
            raise ValueError(f"no threshold up to {high:g} reaches {target} false alarms")
        first = int(passing[0])
        low = float(grid[first - 1]) if first else low
        high, rate = float(grid[first]), float(found[first])
    return round(high, 2), rate


def alarm_minutes(
    mentions: Tallies,
    negatives: Tallies,
    rates: Floats,
    shares: Floats,
    *,
    rhos: tuple[float, ...],
    thresholds: Floats,
) -> list[list[int]]:
    """The minutes at whose end the oracle alarms, on each of several streams.

    `mentions`, `negatives` (their counts) and `rates` (the true expected mentions) have a row
    per minute and a column per stream; `shares` (negative) and `thresholds` one per stream.
    """
    llr = _llr(mentions, negatives, rates, shares, rhos)
    alarms: list[list[int]] = [[] for _ in range(llr.shape[2])]
    for minute, hit in enumerate(_cusum([llr], thresholds[np.newaxis, :])):
        for stream in np.flatnonzero(hit[0]):
            alarms[stream].append(minute)
    return alarms


def run_oracle(scenario: Scenario, counts: MinuteCounts, calibration: Calibration) -> OracleRun:
    """The oracle's alarms on the counted stream of `scenario`, with `calibration`'s oracles."""
    brands = [brand.name for brand in scenario.brands]
    oracles = [calibration.of(brand) for brand in brands]
    found = alarm_minutes(
        np.column_stack([counts.mentions(brand) for brand in brands]),
        np.column_stack([counts.negatives(brand) for brand in brands]),
        np.column_stack([baseline_rates(scenario, brand) for brand in scenario.brands]),
        np.array([oracle.negative_share for oracle in oracles]),
        rhos=calibration.rhos,
        thresholds=np.array([oracle.threshold for oracle in oracles]),
    )
    alarms = {
        brand: tuple(scenario.start + (minute + 1) * _MINUTE for minute in minutes)
        for brand, minutes in zip(brands, found, strict=True)
    }
    return OracleRun(calibration, alarms)


def _llr(
    mentions: Tallies,
    negatives: Tallies,
    rates: Floats,
    shares: float | Floats,
    rhos: tuple[float, ...],
) -> Floats:
    """Per minute, the log-likelihood ratios of the volume and of the negatives for each ρ:
    shape (minutes, 2 × ρs, streams). `rates` are the expected mentions (broadcast to the
    counts' shape); `shares`, the negative share of each stream (or of all)."""
    rows = []
    for rho in rhos:
        drift = (rho - 1) * rates
        rows += [mentions * math.log(rho) - drift, negatives * math.log(rho) - shares * drift]
    return np.stack(rows, axis=1)


def _calm_weeks(
    week_rates: Floats, share: float, streams: int, weeks: int, seed: int
) -> Iterator[tuple[Tallies, Tallies]]:
    """`weeks` successive weeks of `streams` incident-free streams: per minute and stream, the
    mentions and the negatives among them (32-bit: hundreds of brand-weeks in tens of MB)."""
    rng = np.random.default_rng(seed)
    for _ in range(weeks):
        mentions = rng.poisson(week_rates[:, np.newaxis], size=(len(week_rates), streams))
        negatives = rng.binomial(mentions, share)
        yield mentions.astype(np.int32), negatives.astype(np.int32)


def _cusum(chunks: Iterable[Levels], bars: Levels) -> Iterator[npt.NDArray[np.bool_]]:
    """Page's CUSUMs, one set per threshold and stream, minute after minute.

    `chunks` are successive stretches of per-minute log-likelihood ratios, each of shape
    (minutes, sums, streams); `bars`, the thresholds, of shape (thresholds, streams or 1).
    Yields per minute whether each (threshold, stream) alarms, shape (thresholds, streams):
    when any of its sums reaches its threshold. All its sums then restart from 0.
    """
    sums: Floats | None = None
    for chunk in chunks:
        if sums is None:
            sums = np.zeros((chunk.shape[1], len(bars), chunk.shape[2]))
        for step in chunk:
            sums += step[:, np.newaxis, :]
            np.maximum(sums, 0.0, out=sums)
            hit = np.logical_or.reduce(sums >= bars, axis=0)
            sums *= ~hit
            yield hit
