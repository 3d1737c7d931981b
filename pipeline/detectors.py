"""Spike rules, as small estimators with `score_one` / `learn_one`.

Each rule sums the counts of the last buckets over several windows (5 minutes to hours) and
compares each sum with what the brand's baseline expects for it. A window fires when its
count is both improbable under a negative-binomial count model and large for this brand:
its log-ratio to the baseline is many times the spread such ratios usually have. Short
windows catch sudden surges, long ones the small counts of local businesses and the slow
climb of a negative share.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from pipeline.baseline import (
    PRIOR_BUCKETS,
    DailyPeaks,
    Dispersion,
    Ewma,
    RecentSums,
    SeasonalProfile,
    Spread,
)
from pipeline.sequential import (
    Cusum,
    Run,
    count_llr,
    fewest_counts,
    fewest_observed,
    share_llr,
)
from pipeline.settings import DetectionSettings, RuleSettings, sequential_level
from pipeline.stats import binomial_tail, negative_binomial_tail

EXACT_FROM_Z = 1.5  # below this z-score the normal approximation of the tail is enough
SILENCE_CHANCE = 1e-3  # a run of empty buckets less likely than this is a source outage
LOG_SILENCE_CHANCE = math.log(SILENCE_CHANCE)
SPREAD_CLIP = 4.0  # spreads learn at most this many spreads from one bucket
PRIOR_BURSTS = 0.01  # a new brand's share of sums beyond the learning clip


class Verdict(NamedTuple):
    """What a rule concluded about the windows ending at one bucket (a named tuple: one is
    made for every bucket judged)."""

    observed: float
    expected: float
    effect: float  # log-ratio of observed to expected, in units of its usual spread
    window_seconds: int
    fires: bool
    critical: bool
    score: float
    calm_windows: tuple[bool, ...] = ()  # per window: back to normal
    normal: bool = True  # this bucket alone weighs for the baseline rather than a change

    def calm(self) -> bool:
        """Whether every window is back to normal and the bucket weighs for the baseline."""
        return all(self.calm_windows) and self.normal


QUIET = Verdict(0.0, 0.0, 0.0, 0, False, False, 0.0)


class WindowNoise:
    """What normal looks like for sums over one window length: NB dispersion and spread.

    Both are learnt from the window's tumbling blocks: the window's length of consecutive
    buckets, aligned in event time (a 60-minute window's blocks are the clock hours), each
    learnt once it is complete. Overlapping windows would teach the same thing with
    correlated samples at a cost per bucket; a block's sums are kept as its buckets close.
    """

    def __init__(self, rate: float, buckets: int, state: list[Any] | None = None) -> None:
        self.rate = rate  # per bucket
        self.buckets = buckets
        (excess, scale), spread, *block = state or [[[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0]]
        self.dispersion = Dispersion(Ewma(*excess), Ewma(*scale))
        self.spread = Spread(Ewma(*spread))
        # the block in progress: [index, observed, clipped, expected, keep, buckets]
        self.block: list[Any] | None = list(block[0]) if block and block[0] else None

    def add(
        self,
        index: int,
        counts: tuple[float, float, float],
        pace: float,
        pseudo_count: float,
    ) -> None:
        """Account the `index`-th bucket of event time, its (observed, clipped, expected)
        counts learnt at `pace`; learn the block it completes. A block some of whose buckets
        were not learnt (silent) is not learnt from either."""
        self._account(index, 1, counts, 1.0 - self.rate * pace, pseudo_count)

    def add_quiet(self, index: int, expected: list[float], pseudo_count: float) -> None:
        """Account buckets from the `index`-th on, none with a mention, one per value of
        `expected` (what each expected), at full pace: block by block, with each block's sum;
        whole blocks of nothing expected (a negative rule's) in one step."""
        size, buckets = self.buckets, len(expected)
        # from here on, nothing is expected
        nothing_from = next((i + 1 for i in range(buckets - 1, -1, -1) if expected[i]), 0)
        start = 0
        while start < buckets:
            position = index + start
            if position % size == 0 and start >= nothing_from:
                whole, tail = divmod(buckets - start, size)
                rate = 1.0 - (1.0 - self.rate) ** size
                ratio = log_ratio(0.0, 0.0, size, pseudo_count)
                self.spread.learn_many(ratio, rate, whole, SPREAD_CLIP)
                start += whole * size
                if not tail:
                    return
                position = index + start
            taken = min(buckets - start, size - position % size)
            if taken == size:  # whole blocks: learnt at once, as `_account` would learn them
                # up to the block where nothing comes to be expected (the branch above)
                whole = min((buckets - start) // size, -(-(nothing_from - start) // size))
                self.block = None
                blocks = [
                    (0.0, 0.0, math.fsum(expected[first : first + size]))
                    for first in range(start, start + whole * size, size)
                ]
                self.learn(blocks, 1.0 - (1.0 - self.rate) ** size, pseudo_count)
                start += whole * size
                continue
            counts = (0.0, 0.0, math.fsum(expected[start : start + taken]))
            self._account(position, taken, counts, (1.0 - self.rate) ** taken, pseudo_count)
            start += taken

    def _account(
        self,
        index: int,
        buckets: int,
        counts: tuple[float, float, float],
        keep: float,
        pseudo_count: float,
    ) -> None:
        """Add `buckets` buckets from the `index`-th, all of one block, with these summed
        counts, of which the block keeps `keep` of the past; learn the block if complete."""
        block = self.block
        if block is None or block[0] != index // self.buckets:
            block = self.block = [index // self.buckets, 0.0, 0.0, 0.0, 1.0, 0]
        block[1] += counts[0]
        block[2] += counts[1]
        block[3] += counts[2]
        block[4] *= keep  # what the block keeps of the past, bucket by bucket
        block[5] += buckets
        if (index + buckets) % self.buckets:
            return
        self.block = None
        if block[5] == self.buckets:
            self.learn([(block[1], block[2], block[3])], 1.0 - block[4], pseudo_count)

    def learn(
        self, sums: list[tuple[float, float, float]], rate: float, pseudo_count: float
    ) -> None:
        """Learn each of the window's (observed, clipped, expected) sums in turn, at `rate`:
        the dispersion from the clipped, the spread from the real."""
        self.dispersion.learn(((c, e) for _, c, e in sums if e > 0), rate)
        ratios = (log_ratio(o, e, self.buckets, pseudo_count) for o, _, e in sums)
        self.spread.learn(ratios, rate, SPREAD_CLIP)

    def state(self) -> list[Any]:
        return [self.dispersion.state(), self.spread.mean.state(), self.block]


class Window(NamedTuple):
    """Observed and expected counts summed over one window, with that window's noise."""

    buckets: int
    observed: float
    expected: float
    noise: WindowNoise
    trials: float | None = None  # for a share: the volume the observed count is part of
    usual: float | None = None  # for a share: the count the brand's usual volume would bring


def log_ratio(observed: float, expected: float, buckets: int, pseudo_count: float) -> float:
    """log((o + a) / (e + a)), with `a` growing with the window so small counts stay modest."""
    a = _pseudo(buckets, pseudo_count)
    return math.log((observed + a) / (expected + a))


def count_at_log_ratio(ratio: float, expected: float, buckets: int, pseudo_count: float) -> float:
    """The count whose `log_ratio` to `expected` is `ratio`: its inverse."""
    a = _pseudo(buckets, pseudo_count)
    return (expected + a) * math.exp(ratio) - a


def _pseudo(buckets: int, pseudo_count: float) -> float:
    return pseudo_count * math.sqrt(buckets)


def count_tail(observed: float, expected: float, dispersion: float) -> float:
    """P(X >= observed) under the negative binomial; a cheap normal value when unremarkable."""
    sd = math.sqrt(expected + dispersion * expected * expected)
    if sd <= 0:
        return 0.0 if observed > 0 else 1.0
    z = (observed - expected) / sd
    if z < EXACT_FROM_Z:
        return 0.5 * math.erfc(z / math.sqrt(2))
    return negative_binomial_tail(observed, expected, dispersion)


def spike_score(effect: float, bar: float, critical_bar: float) -> float:
    """An effect on a [0, 1] scale: 0.5 at the firing bar, 1.0 at the critical one."""
    if effect < bar:
        return 0.5 * max(effect, 0.0) / bar
    return min(1.0, 0.5 + 0.5 * (effect - bar) / (critical_bar - bar))


def judge(
    rule: RuleSettings,
    settings: DetectionSettings,
    windows: list[Window],
    warm: bool,
    floors: list[float],
) -> Verdict:
    """Apply a rule to the windows ending at one bucket; the strongest eligible one decides.

    The tail gate (at least `min_count` mentions, tail at most `alpha`) protects small brands
    from chance; the effect bar (in units of the brand's own spread) protects big brands from
    the bursts they have every week, and a window's floor (a share of its largest count of
    recent days) from peaks that are small beside the brand's recent news.

    The tail, the costly part, is computed only where it decides something: for a window
    with enough mentions to fire, or one whose effect alone is not calm.
    """
    best: tuple[float, Window, float | None] | None = None
    calm = []
    bar = rule.effect
    for w, floor in zip(windows, floors, strict=True):
        effect = window_effect(w, settings.pseudo_count)
        enough = w.observed >= max(rule.min_count, floor)
        tail = window_tail(w, settings) if enough or effect >= rule.resolve_effect else None
        calm.append(_calm(effect, tail, rule))
        significant = enough and tail is not None and tail <= rule.alpha
        strength = effect if significant else min(effect, bar * 0.999)
        if best is None or strength > best[0]:
            best = (strength, w, tail)
    assert best is not None, "a rule has at least one window"
    strength, w, tail = best
    critical_bar = rule.critical_effect
    fires = warm and strength >= bar
    return Verdict(
        observed=w.observed,
        expected=w.expected,
        effect=strength,
        window_seconds=w.buckets * settings.bucket_seconds,
        fires=fires,
        critical=fires
        and tail is not None
        and tail <= rule.critical_alpha
        and strength >= critical_bar,
        score=spike_score(strength, bar, critical_bar),
        calm_windows=tuple(calm),
    )


def calm_windows(
    rule: RuleSettings, settings: DetectionSettings, windows: list[Window]
) -> tuple[bool, ...]:
    """`judge`'s calm windows alone: a window's tail is computed only where its effect is not
    below the resolve bar."""
    calm = []
    for w in windows:
        effect = window_effect(w, settings.pseudo_count)
        tail = window_tail(w, settings) if effect >= rule.resolve_effect else None
        calm.append(_calm(effect, tail, rule))
    return tuple(calm)


def window_effect(w: Window, pseudo_count: float) -> float:
    """The window's log-ratio of observed to expected, in units of its usual spread."""
    return log_ratio(w.observed, w.expected, w.buckets, pseudo_count) / w.noise.spread.value


def _calm(effect: float, tail: float | None, rule: RuleSettings) -> bool:
    """Whether a window is back to normal: its effect below the resolve bar, or its count
    not improbable at `resolve_alpha` (`tail` is None where it was not needed: not enough
    mentions, and the effect below that bar)."""
    return tail is None or tail > rule.resolve_alpha or effect < rule.resolve_effect


def with_evidence(
    verdict: Verdict, run: Run, alarm: bool, level: float, normal: bool, span: int
) -> Verdict:
    """The windows' verdict with the rule's accumulated evidence (its CUSUM run) added.

    The run fires when `alarm` holds and the windows do not already: the alert then reports
    the run's counts and `span` (seconds) as its window. `normal` says whether the evidence
    has fallen back (an alert resolves only then). The score is 0.5 at the alarm level and
    1.0 at twice it, as the windows' is at their bars.
    """
    score = max(verdict.score, min(1.0, 0.5 * run.statistic / level))
    if alarm and not verdict.fires:
        return verdict._replace(
            observed=run.observed,
            expected=run.expected,
            window_seconds=span,
            fires=True,
            critical=run.statistic >= 2 * level,
            score=score,
            normal=normal,
        )
    return verdict._replace(score=score, normal=normal)


def window_tail(w: Window, settings: DetectionSettings) -> float:
    """How improbable the window's count is: a count test, or a share test of its volume.

    A share test alone lacks power on a few mentions (8 negatives of 10 is not rare enough),
    so when the share is up at `share_alpha` the negatives are also judged against what the
    brand's usual volume brings: a crisis raises both the volume and the share.
    """
    k = w.noise.dispersion.k(w.noise.rate)
    if w.trials is None:
        return count_tail(w.observed, w.expected, k)
    share = w.expected / w.trials if w.trials else 0.0
    tail = binomial_tail(w.observed, w.trials, share, settings.thread_correlation, EXACT_FROM_Z)
    if w.usual is not None and tail <= settings.share_alpha:
        tail = min(tail, count_tail(w.observed, w.usual, k))
    return tail


class _Windows:
    """The sums of one rule over its windows, and each window's noise."""

    def __init__(self, settings: DetectionSettings, rule: RuleSettings, state: dict[str, Any]):
        buckets = sorted({settings.buckets(m * 60) for m in rule.windows_minutes})
        self.recent = RecentSums(tuple(buckets), state.get("recent"))
        noise = state.get("noise") or [None] * len(buckets)
        self._rate = settings.rate(settings.dispersion_half_life_hours * 3600)
        self.noise = [WindowNoise(self._rate, b, n) for b, n in zip(buckets, noise, strict=True)]
        self._settings = settings
        self._rule = rule
        records = (state.get("records") or [None] * len(buckets)) if rule.record_share else []
        self.records = [DailyPeaks(rule.record_days, rows) for rows in records]

    def judge(
        self,
        t: int,
        observed: float,
        expected: float,
        warm: bool,
        shares: list[tuple[float, float]] | None = None,
    ) -> Verdict:
        """Judge the windows ending with the bucket starting at `t`.

        `shares`, per window (volume, count the usual volume brings), make it a share test.
        """
        windows = self.windows(observed, expected, shares)
        return judge(self._rule, self._settings, windows, warm, self._floors(t))

    def calm(
        self, observed: float, expected: float, shares: list[tuple[float, float]] | None = None
    ) -> tuple[bool, ...]:
        """`judge`'s calm windows alone, for the bucket with these counts."""
        return calm_windows(self._rule, self._settings, self.windows(observed, expected, shares))

    def windows(
        self, observed: float, expected: float, shares: list[tuple[float, float]] | None
    ) -> list[Window]:
        """The windows ending with a bucket of these counts (`judge`)."""
        sums = self.recent.sums(observed, expected)
        pairs: list[tuple[float | None, float | None]] = (
            [*shares] if shares else [(None, None)] * len(sums)
        )
        return [
            Window(buckets, total_o, total_e, noise, trials, usual)
            for (buckets, total_o, total_e), noise, (trials, usual) in zip(
                sums, self.noise, pairs, strict=True
            )
        ]

    def least_to_fire(self, t: int, expected: float, warm: bool) -> float:
        """A lower bound of the count the bucket at `t` needs for any window to fire, when it
        is expected to hold at least `expected` (infinite while the baseline is cold).

        A window fires only with enough mentions and an effect at the bar: the effect grows
        with the count, so below the bound no window does and judging can be skipped. Each
        window's bound is lowered by 1e-9 of the counts it compares, far beyond the rounding
        of `judge`'s floats; a bar beyond e^700 (a rule switched off) is met by no count.
        """
        if not warm:
            return math.inf
        rule, pseudo_count = self._rule, self._settings.pseudo_count
        least = math.inf
        for (buckets, before, usual), noise, floor in zip(
            self.recent.sums(0.0, expected), self.noise, self._floors(t), strict=True
        ):
            bar = min(rule.effect * noise.spread.value, 700.0)
            need = max(rule.min_count, floor, count_at_log_ratio(bar, usual, buckets, pseudo_count))
            least = min(least, need - before - 1e-9 * (need + before + 1.0))
        return least

    def _floors(self, t: int) -> list[float]:
        """Each window's record floor for the bucket at `t` (0 without records)."""
        if not self.records:
            return [0.0] * len(self.noise)
        day, share = _day(t), self._rule.record_share
        return [share * record.largest(day) for record in self.records]

    def sd(self, expected: float) -> float:
        """Standard deviation of one bucket's count around `expected`."""
        return math.sqrt(expected + self.noise[0].dispersion.k(self._rate) * expected * expected)

    def learn(
        self, t: int, observed: float, clipped: float, expected: float, pace: float, warm: bool
    ) -> None:
        """Learn the dispersion from the clipped counts; spreads and records from the real."""
        s = self._settings
        if s.window_noise == "blocks":
            index, counts = t // s.bucket_seconds, (observed, clipped, expected)
            for noise in self.noise:
                noise.add(index, counts, pace, s.pseudo_count)
        else:  # each window's sums with this bucket, its own count clipped
            sums = zip(
                self.recent.sums(clipped, expected),
                self.recent.sums(observed, expected),
                self.noise,
                strict=True,
            )
            for (_, clipped_sum, total), (_, observed_sum, _), noise in sums:
                noise.learn([(observed_sum, clipped_sum, total)], self._rate * pace, s.pseudo_count)
        if warm and self.records:  # a cold baseline's records are not the brand's
            day = _day(t)
            for record, (_, total, _) in zip(
                self.records, self.recent.sums(observed, expected), strict=True
            ):
                record.observe(day, total)
        self.recent.push(observed, expected)

    def learn_quiet(self, t: int, expected: list[float], warm_from: int) -> None:
        """Learn buckets from `t` on, none with a mention, one per value of `expected`, in one
        step; the records see each day's first bucket from the `warm_from`-th on (a window's
        count only falls along the stretch, so that is the day's largest)."""
        s = self._settings
        size, index = s.bucket_seconds, max(0, warm_from)
        while self.records and index < len(expected):
            day = _day(t + index * size)
            for record, window in zip(self.records, self.recent.windows, strict=True):
                record.observe(day, self.recent.latest(window - 1 - index))
            index = -(-((day + 1) * 86_400 - t) // size)  # the next day's first bucket
        for noise in self.noise:
            noise.add_quiet(t // s.bucket_seconds, expected, s.pseudo_count)
        self.recent.push_many(0.0, expected)

    def state(self) -> dict[str, Any]:
        return {
            "recent": self.recent.state(),
            "noise": [n.state() for n in self.noise],
            "records": [record.state() for record in self.records],
        }


def adaptive_rate(
    half_life_buckets: float, per_bucket: float, settings: DetectionSettings
) -> float:
    """EWMA weight for a memory of at least `half_life_buckets` and `memory_mentions` mentions.

    A brand with a few mentions a day gets a memory of days, not hours, so its baseline rests
    on enough mentions to mean something; the memory is capped at `max_memory_days`.
    """
    evidence = settings.memory_mentions / max(per_bucket, 1e-9)
    longest = settings.max_memory_days * 86_400 / settings.bucket_seconds
    return float(1.0 - 0.5 ** (1.0 / min(max(half_life_buckets, evidence), longest)))


def _day(t: int) -> int:
    return t // 86_400


def _clip(observed: float, expected: float, sd: float, width: float) -> float:
    """Huber-style clip for learning: never more than `width` sd (plus a few counts) away."""
    return min(max(observed, expected - width * sd), expected + width * (sd + 1.0))


class VolumeRule:
    """Mentions per bucket against a seasonal, robust baseline."""

    def __init__(self, settings: DetectionSettings, state: dict[str, Any] | None = None):
        s = settings
        state = state or {}
        self._settings = s
        self.level = Ewma(*state.get("level", (0.0, 0.0)))
        self.profile = SeasonalProfile(s.profile_prior, state.get("profile"))
        self.windows = _Windows(s, s.volume, state)
        self.seen = int(state.get("seen", 0))
        self._level_buckets = s.level_half_life_hours * 3600 / s.bucket_seconds
        per_slot = 3600 / s.bucket_seconds
        self._hour_rate = 1 - 0.5 ** (1 / (per_slot * s.profile_half_life_days))
        self._day_rate = 1 - 0.5 ** (1 / (24 * per_slot * s.weekly_half_life_weeks))
        self._warmup = s.buckets(s.warmup_hours * 3600)
        self._floor = s.bucket_seconds / 86_400 / 7  # one mention a week
        self._known: tuple[int, float, float] | None = None  # (t, factor, expected) until learnt

    def expected(self, t: int) -> float:
        """Mentions expected in the bucket starting at `t`."""
        return self._expectation(t)[1]

    def _expectation(self, t: int) -> tuple[float, float]:
        """The seasonal factor and the expected mentions at `t` (asked for several times per
        bucket: by the silence check, early checks, judging and learning)."""
        known = self._known
        if known is None or known[0] != t:
            factor = self.profile.factor(t)
            known = self._known = (t, factor, max(self.level.value(0.0) * factor, self._floor))
        return known[1], known[2]

    def log_zero_chance(self, mean: float) -> float:
        """log P(no mention at all) in a bucket expecting `mean` mentions."""
        noise = self.windows.noise[0]
        k = noise.dispersion.k(noise.rate)
        return -math.log1p(k * mean) / k

    def score_one(self, t: int, volume: int) -> Verdict:
        return self.windows.judge(t, volume, self.expected(t), self.seen >= self._warmup)

    def least_to_fire(self, t: int) -> float:
        """Below this volume, the bucket at `t` cannot fire (`_Windows.least_to_fire`)."""
        return self.windows.least_to_fire(t, self.expected(t), self.seen >= self._warmup)

    def learn_one(self, t: int, volume: int, pace: float = 1.0) -> None:
        """Learn from the closed bucket at `t`; `pace` < 1 slows learning during incidents."""
        factor, expected = self._expectation(t)
        clipped = _clip(volume, expected, self.windows.sd(expected), self._settings.learn_clip)
        self.windows.learn(t, volume, clipped, expected, pace, self.seen >= self._warmup)
        level = self.level.value(0.0)
        if self.seen:
            self.profile.learn(t, clipped, level, (self._hour_rate, self._day_rate), pace)
        rate = adaptive_rate(self._level_buckets, level, self._settings)
        self._learn_level(self.level, clipped, factor, rate * pace)
        self.seen += 1
        self._known = None

    def walk_quiet(
        self, start: int, until: int, level: tuple[float, float], silence: float, learn: bool
    ) -> tuple[list[float], int, tuple[float, float], float]:
        """Walk the buckets [start, until), none with a mention, as `learn_one` would learn
        them, the level's (total, weight) being `level` at `start` and the log-chance of the
        run of empty buckets before it `silence`: while the run stays likely enough to be the
        audience's (`LOG_SILENCE_CHANCE`), each bucket's level learns its silence, and so does
        the profile if `learn`. Returns the mentions each bucket expected, how many of the
        first buckets were learnt, and the level's (total, weight) and the log-chance after."""
        state = Ewma(*level)
        rates = (self._hour_rate, self._day_rate)
        learn = learn and self.seen > 0
        expected, learnt = [], 0
        for t in range(start, until, self._settings.bucket_seconds):
            value = state.value(0.0)
            factor = self.profile.factor(t)
            mean = max(value * factor, self._floor)
            expected.append(mean)
            silence += self.log_zero_chance(mean)
            if silence >= LOG_SILENCE_CHANCE:
                learnt += 1
                rate = adaptive_rate(self._level_buckets, value, self._settings)
                self._learn_level(state, 0.0, factor, rate)
                if learn:
                    self.profile.learn(t, 0.0, value, rates)
        return expected, learnt, (state.total, state.weight), silence

    def _learn_level(self, level: Ewma, count: float, factor: float, rate: float) -> None:
        """Learn a bucket's (clipped) count, seen where the profile's factor is `factor`."""
        if self._settings.volume_level == "exposure":
            level.update_exposed(count, factor, rate)
        else:
            level.update(count / factor, rate)

    def learn_quiet(self, t: int, expected: list[float], level: tuple[float, float]) -> None:
        """Learn buckets from `t` on without mentions, one per value of `expected` (what each
        expected), after which the level's (total, weight) is `level`, in one step (the
        profile has learnt them one by one): the windows learn their blocks."""
        self.windows.learn_quiet(t, expected, self._warmup - self.seen)
        self.level.total, self.level.weight = level
        self.seen += len(expected)
        self._known = None

    def state(self) -> dict[str, Any]:
        return {
            "level": self.level.state(),
            "profile": self.profile.state(),
            **self.windows.state(),
            "seen": self.seen,
        }


class NegativeRule:
    """Negative mentions against what the brand's usual negative share predicts.

    The expected count is the window's volume times the baseline share, so a burst of happy
    mentions (a positive viral moment) raises the expectation with it and does not fire,
    while a share that climbs for hours on a flat volume does, on the long windows.
    """

    def __init__(self, settings: DetectionSettings, state: dict[str, Any] | None = None):
        s = settings
        state = state or {}
        self._settings = s
        share: list[float] = state.get("share", [0.0, 0.0])
        self.negatives, self.volumes = share
        self.windows = _Windows(s, s.negative, state)
        self.volume_sums = RecentSums(self.windows.recent.windows, state.get("volumes"))
        self.seen = int(state.get("seen", 0))
        changes = s.sequential.negative_changes
        rows = state.get("cusums") or []
        if len(rows) != len(changes):  # none yet, or written for other changes: afresh
            rows = [[None, None]] * len(changes)
        self.cusums = [(Cusum(share), Cusum(count)) for share, count in rows]
        self.bursts = Ewma(*state.get("bursts", (0.0, 0.0)))  # buckets beyond the clip
        self._level = sequential_level(s)
        self._share_level = -math.log(s.share_alpha)
        self._share_buckets = s.share_half_life_hours * 3600 / s.bucket_seconds
        self._warmup = s.buckets(s.warmup_hours * 3600)
        # evidence asked for since the last bucket learnt (judged, then learnt from, alike)
        self._asked: dict[tuple[int, int, float], list[tuple[float, float]]] = {}

    @property
    def baseline_share(self) -> float:
        """Decayed negative / volume sums, with `negative_prior_weight` prior mentions."""
        s = self._settings
        prior = s.negative_prior_weight
        return (self.negatives + prior * s.negative_prior_share) / (self.volumes + prior)

    def score_one(
        self, t: int, volume: int, negatives: int, usual_volume: float, fraction: float = 1.0
    ) -> Verdict:
        """Judge the bucket at `t`, of which `fraction` has passed (early checks);
        `usual_volume` is what the volume baseline expects of the whole bucket."""
        share = self.baseline_share
        shares = self._shares(volume, usual_volume)
        warm = self.seen >= self._warmup
        verdict = self.windows.judge(t, negatives, volume * share, warm, shares)
        if not self.cusums:
            return verdict
        runs = self._runs(volume, negatives, usual_volume * fraction, push=False)
        fired = self._fired(runs)
        smallest = runs[0][0]  # the smallest change's share run: the most sensitive
        shown = fired or max((share_run for share_run, _ in runs), key=lambda run: run.statistic)
        size = self._settings.bucket_seconds
        span = round((shown.buckets - 1 + fraction) * size) if shown.buckets else 0
        normal = smallest.statistic < self._level / 2
        return with_evidence(verdict, shown, fired is not None and warm, self._level, normal, span)

    def calm(self, volume: int, negatives: int, usual_volume: float) -> Verdict:
        """The verdict on a closed bucket that cannot fire (fewer negatives than
        `least_to_fire`): no more than which of its windows are calm."""
        shares = self._shares(volume, usual_volume)
        calm = self.windows.calm(negatives, volume * self.baseline_share, shares)
        return QUIET._replace(calm_windows=calm)

    def _shares(self, volume: int, usual_volume: float) -> list[tuple[float, float]]:
        """Per window, the volume and the negatives the usual volume brings (share tests)."""
        share = self.baseline_share
        return [
            (total, usual * share)
            for _, total, usual in self.volume_sums.sums(volume, usual_volume)
        ]

    def least_to_fire(self, t: int) -> float:
        """Below this many negatives, the bucket at `t` cannot fire: no window can (their
        expected count is at least the previous buckets'), and no run can. A bucket adds at
        most `evidence_cap` to a run, and no more than its negatives can weigh whatever the
        volume (`fewest_observed`, `fewest_counts`): each run's bound is the fewest negatives
        that bring it to the alarm level, lowered by 1e-9 of itself as the windows' are."""
        warm = self.seen >= self._warmup
        least = self.windows.least_to_fire(t, 0.0, warm)
        if not warm:
            return least
        s, cap, share = self._settings, self.evidence_cap(), self.baseline_share
        for (share_cusum, count_cusum), change in zip(
            self.cusums, s.sequential.negative_changes, strict=True
        ):
            for cusum, by_share in ((share_cusum, True), (count_cusum, False)):
                if cusum.run.statistic + cap < self._level:  # `Cusum.peek`'s sum
                    continue
                need = self._level - cusum.run.statistic
                fewest = (
                    fewest_observed(need, share, change, s.thread_correlation)
                    if by_share
                    else fewest_counts(need, change)
                )
                least = min(least, fewest - 1e-9 * (fewest + 1.0))
        return least

    def _runs(
        self, volume: int, negatives: int, usual_volume: float, push: bool
    ) -> list[tuple[Run, Run]]:
        """Each change's share and count runs with this bucket (`usual_volume`: what the usual
        volume brings in the part of the bucket judged); `push` accounts it for good."""
        share = self.baseline_share
        usual = usual_volume * share
        return [
            (
                share_cusum.push(by_share, negatives, volume * share)
                if push
                else share_cusum.peek(by_share, negatives, volume * share),
                count_cusum.push(by_count, negatives, usual, by_share)
                if push
                else count_cusum.peek(by_count, negatives, usual, by_share),
            )
            for (share_cusum, count_cusum), (by_share, by_count) in zip(
                self.cusums, self._evidence(volume, negatives, usual), strict=True
            )
        ]

    def restart(self) -> None:
        """Start every run afresh: an alert of the rule has just fired."""
        for share_cusum, count_cusum in self.cusums:
            share_cusum.reset()
            count_cusum.reset()

    def evidence_cap(self) -> float:
        """The most one bucket can weigh for a change: −log of the brand's burst rate.

        Huber's censored likelihood ratio: where a share ε of buckets are outliers of no
        model (beyond the learning clip), a single bucket cannot tell a change from one of them
        beyond odds of about 1/ε. The rate starts from PRIOR_BURSTS, worth PRIOR_BUCKETS
        buckets, so a new brand is not trusted blindly either.
        """
        rate = self.windows.noise[0].rate
        prior = PRIOR_BUCKETS * rate
        share = (self.bursts.total + PRIOR_BURSTS * prior) / (self.bursts.weight + prior)
        return -math.log(share)

    def _evidence(
        self, volume: int, negatives: int, usual_negatives: float
    ) -> list[tuple[float, float]]:
        """Per change ρ, the bucket's evidence that the negatives' share odds rose ρ-fold, and
        that the negatives rose ρ-fold beyond what the usual volume brings: a crisis adds
        negatives to the usual talk, which multiplies both."""
        key = (volume, negatives, usual_negatives)
        known = self._asked.get(key)
        if known is None:
            known = self._asked[key] = self._weighed(volume, negatives, usual_negatives)
        return known

    def _weighed(
        self, volume: int, negatives: int, usual_negatives: float
    ) -> list[tuple[float, float]]:
        s = self._settings
        share = self.baseline_share
        noise = self.windows.noise[0]
        k, cap = noise.dispersion.k(noise.rate), self.evidence_cap()
        return [
            (
                min(cap, share_llr(negatives, volume, share, change, s.thread_correlation)),
                min(cap, count_llr(negatives, usual_negatives, k, change)),
            )
            for change in s.sequential.negative_changes
        ]

    def _fired(self, runs: list[tuple[Run, Run]]) -> Run | None:
        """The run that fires, if any: a share's alone, or a count's when the share rose over
        the same buckets at `share_alpha`'s level of evidence (a viral moment raises the count
        of negatives, not their share)."""
        enough = self._settings.negative.min_count
        for share_run, count_run in runs:
            if share_run.statistic >= self._level and share_run.observed >= enough:
                return share_run
            if (
                count_run.statistic >= self._level
                and count_run.side >= self._share_level
                and count_run.observed >= enough
            ):
                return count_run
        return None

    def learn_one(
        self, t: int, volume: int, negatives: int, usual_volume: float, pace: float = 1.0
    ) -> None:
        """Learn from the closed bucket at `t`; `pace` < 1 slows learning during incidents."""
        expected = volume * self.baseline_share
        warm = self.seen >= self._warmup
        runs = self._runs(volume, negatives, usual_volume, push=True) if warm else []
        if self._fired(runs) is not None:
            self.restart()  # an alarm: Page's procedure starts afresh
        sd = self.windows.sd(expected)
        clipped = min(_clip(negatives, expected, sd, self._settings.learn_clip), volume)
        self.bursts.update(float(negatives > clipped), self.windows.noise[0].rate * pace)
        self.windows.learn(t, negatives, clipped, expected, pace, warm)
        self.volume_sums.push(volume, usual_volume)
        per_bucket = self.volumes * (1 - 0.5 ** (1 / self._share_buckets))
        keep = 1 - adaptive_rate(self._share_buckets, per_bucket, self._settings) * pace
        self.negatives = self.negatives * keep + clipped * pace
        self.volumes = self.volumes * keep + volume * pace
        self.seen += 1
        self._asked.clear()

    def learn_quiet(self, t: int, usual_volumes: list[float]) -> None:
        """Learn buckets from `t` on with no mention, one per value of `usual_volumes` (the
        mentions the volume baseline expected in each), in one step: the share runs carry on
        unchanged, the count runs drift down by what each bucket's silence weighs against a
        change (exact: no bucket without negatives can raise a run), the share and the windows
        forget them (a bucket without mentions expects no negatives)."""
        s = self._settings
        buckets = len(usual_volumes)
        warm = max(0, buckets - max(0, self._warmup - self.seen))  # the buckets learnt warm
        if warm:
            share = self.baseline_share
            usual = math.fsum(usual_volumes) / buckets * share
            noise = self.windows.noise[0]
            k = noise.dispersion.k(noise.rate)
            for (share_cusum, count_cusum), change in zip(
                self.cusums, s.sequential.negative_changes, strict=True
            ):
                share_cusum.drift(0.0, 0.0, warm)
                count_cusum.drift(count_llr(0.0, usual, k, change), usual, warm)
        self.bursts.update_many(0.0, self.windows.noise[0].rate, buckets)
        self.windows.learn_quiet(t, [0.0] * buckets, self._warmup - self.seen)
        self.volume_sums.push_many(0.0, usual_volumes)
        per_bucket = self.volumes * (1 - 0.5 ** (1 / self._share_buckets))
        keep = (1 - adaptive_rate(self._share_buckets, per_bucket, s)) ** buckets
        self.negatives *= keep
        self.volumes *= keep
        self.seen += buckets
        self._asked.clear()

    def quiet_score(self) -> float:
        """The score of a bucket without mentions learnt in a quiet stretch: its share runs'
        evidence, which such a bucket leaves as it is (`with_evidence`'s scale)."""
        strongest = max((share.run.statistic for share, _ in self.cusums), default=0.0)
        return min(1.0, 0.5 * strongest / self._level)

    def state(self) -> dict[str, Any]:
        return {
            "share": [self.negatives, self.volumes],
            "volumes": self.volume_sums.state(),
            **self.windows.state(),
            "seen": self.seen,
            "cusums": [[share.state(), count.state()] for share, count in self.cusums],
            "bursts": self.bursts.state(),
        }
