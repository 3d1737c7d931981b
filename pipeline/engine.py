"""The engine: scored mentions into per-brand event-time buckets, closed buckets into alerts.

Drivers (the file replay and the Kafka consumer) call `add` for each mention and `advance`
with the watermark; the engine never looks at the wall clock. Its whole state is a plain
JSON-compatible dict (`snapshot`) from which an equivalent engine is rebuilt (`restore`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pipeline.alerts import AlertLifecycle
from pipeline.brands import Handles
from pipeline.detectors import LOG_SILENCE_CHANCE, QUIET, NegativeRule, Verdict, VolumeRule
from pipeline.evidence import Evidence
from pipeline.migrations import SNAPSHOT_VERSION, migrated, shape_changes
from pipeline.models import AlertEvent, AlertKind, Mention, Severity
from pipeline.sentiment import Polarity, SentimentRouter
from pipeline.settings import DetectionSettings
from pipeline.statements import HoldingStatements, default_templates


def event_order(event: AlertEvent) -> tuple[datetime, str, str, str]:
    """The order of the events of one `Engine.advance`: event time, then brand, kind, state."""
    return (event.at, event.brand, event.kind, event.state)


class Admission(StrEnum):
    """What became of a mention handed to the engine."""

    ACCEPTED = "accepted"
    LATE = "late"  # its bucket was already closed by the watermark
    UNBRANDED = "unbranded"  # no brand: nothing to count it against
    DUPLICATE = "duplicate"  # its id is already counted in one of the brand's open buckets
    AHEAD = "ahead"  # dated more than `max_ahead_hours` after the closed event time
    BRAND_LIMIT = "brand_limit"  # a new brand when `max_brands` brands are tracked already
    OWN = "own"  # written by one of the brand's own handles: an answer, not buzz

    @property
    def rejected(self) -> bool:
        """Dropped as bad input (dead-lettered), rather than by a counting rule."""
        return self in (Admission.UNBRANDED, Admission.AHEAD, Admission.BRAND_LIMIT)


@dataclass(frozen=True, slots=True)
class Scored:
    """A mention as the engine took it."""

    mention: Mention
    admission: Admission
    polarity: Polarity | None = None
    negative: bool = False


@dataclass(frozen=True, slots=True)
class BucketReport:
    """One closed bucket of one brand, as the rules judged it: the analyst's series row."""

    brand: str
    start: int
    end: int
    volume: int
    negatives: int
    expected_volume: float  # the baseline's mentions for this bucket
    volume_score: float
    expected_negatives: float  # this bucket's volume times the baseline negative share
    negative_score: float
    silent: bool = False  # part of a run of empty buckets too unlikely to be real: an outage

    @property
    def negative_share(self) -> float:
        return self.negatives / self.volume if self.volume else 0.0


BucketListener = Callable[[BucketReport], None]
KINDS: tuple[AlertKind, ...] = ("volume", "negative")


class OpenIds:
    """The ids of a brand's mentions counted in its open buckets, by early-check step."""

    def __init__(self, rows: list[list[Any]] | None = None) -> None:
        self.by_step: dict[int, set[str]] = {step: set(ids) for step, ids in rows or []}
        self.all: set[str] = set().union(*self.by_step.values())

    def first_sighting(self, step: int, mention_id: str) -> bool:
        """Remember `mention_id` until its step is forgotten; False if it is already here."""
        if mention_id in self.all:
            return False
        self.all.add(mention_id)
        self.by_step.setdefault(step, set()).add(mention_id)
        return True

    def forget(self, step: int) -> None:
        self.all.difference_update(self.by_step.pop(step, ()))

    def forget_before(self, step: int) -> None:
        if not self.by_step:
            return
        for old in [s for s in self.by_step if s < step]:
            self.forget(old)

    def state(self) -> list[list[Any]]:
        return [[step, sorted(ids)] for step, ids in sorted(self.by_step.items())]


class BrandState:
    """One brand's open counts, rules and alert lifecycles.

    Counts are kept per early-check step (a minute by default). Time moves in those steps:
    at each step inside a bucket the partial counts are checked for a spike that is already
    clear, and at the bucket's end the whole bucket is judged and learnt from.

    A quiet brand dozes through its buckets without mentions: from an empty bucket that
    ends while it is steady (no alert active, its last bucket learnt at full pace, at most
    `quiet_level` mentions expected in the bucket), the stretch is learnt in one step once the
    next mention's bucket is reached (`_wake`), not bucket by bucket. A bucket without a
    mention cannot fire, so the stretch is only learnt, and its length is known only then:
    whatever the watermark did meanwhile, the same stretch is learnt.
    """

    def __init__(self, brand: str, settings: DetectionSettings, position: int) -> None:
        self.brand = brand
        self.settings = settings
        self.position = position  # the next step boundary to evaluate
        self.open: dict[int, list[int]] = {}  # step start -> [volume, negatives]
        self.ids = OpenIds()
        self.volume = VolumeRule(settings)
        self.negative = NegativeRule(settings)
        self.evidence = Evidence(brand, settings.explain)
        self.silence = 0.0  # log-chance of the current run of empty buckets
        self.dozing: int | None = None  # start of the stretch of empty buckets not learnt yet
        self.steady = False  # the last bucket learnt was learnt at full pace
        # reporting a dozing stretch: (its start, next bucket, level state, silence so far)
        self._walk: tuple[int, int, tuple[float, float], float] | None = None
        # per bucket start, the counts below which each rule cannot fire early
        self._least: tuple[int | None, dict[AlertKind, float]] = (None, {})
        self.changed = False  # counted, closed a bucket or emitted since the last checkpoint
        resolve_after = settings.buckets(settings.resolve_after_minutes * 60)
        self.alerts = {kind: AlertLifecycle(brand, kind, resolve_after) for kind in KINDS}

    def count(self, step: int, negative: bool) -> None:
        counts = self.open.setdefault(step, [0, 0])
        counts[0] += 1
        counts[1] += negative
        self.changed = True

    def step_to(self, boundary: int, on_bucket: BucketListener | None) -> list[AlertEvent]:
        """Evaluate every step boundary up to `boundary`, in order.

        Only the boundaries where something can happen are visited: each bucket's end, and
        the end of each step that counted mentions (an early check). The others would judge
        the same counts again, so `position` moves straight past them. A dozing brand
        reports its buckets as they end (if `on_bucket` listens) and wakes once the first
        step it counted is over.
        """
        size = self.settings.bucket_seconds
        step = self.settings.early_seconds
        events: list[AlertEvent] = []
        while True:
            if self.dozing is not None:
                first = min(self.open, default=boundary)
                woken = first + step <= boundary  # the first step counted is over
                if on_bucket is not None:
                    self._report_dozing(first - first % size if woken else boundary, on_bucket)
                if not woken:
                    return events
                self._wake(first - first % size)
            if self.position > boundary:
                return events
            end = self.position
            self.evidence.settle(end)
            start = end - end % size if end % size else end - size
            if end == start + size:
                if self._may_doze(start, end):
                    self.dozing = start
                    self.changed = True
                    continue
                events.extend(map(self._explained, self.close(start, end, on_bucket)))
            elif end - step in self.open:
                events.extend(map(self._explained, self.check_early(start, end)))
            self.position = self._next_boundary(end, start + size)

    def _may_doze(self, start: int, end: int) -> bool:
        """Whether the bucket [start, end), now over, starts a quiet stretch (class doc)."""
        return (
            self.steady
            and self.volume.seen > 0
            and not self._alerting()
            and not any(
                step in self.open for step in range(start, end, self.settings.early_seconds)
            )
            and self.volume.expected(start) <= self.settings.quiet_level
        )

    def _report_dozing(self, until: int, on_bucket: BucketListener) -> None:
        """Report each dozing bucket that ends by `until` and was not reported yet, as the
        stretch will learn it (`VolumeRule.walk_quiet`); the walk along the stretch is kept
        between calls (a brand restored with an older walk reports those buckets again,
        alike)."""
        assert self.dozing is not None
        size = self.settings.bucket_seconds
        walk = self._walk
        if walk is None or walk[0] != self.dozing:  # (stretch, next bucket, level, silence)
            walk = (
                self.dozing,
                self.dozing,
                (self.volume.level.total, self.volume.level.weight),
                self.silence,
            )
        _, start, level, silence = walk
        until = start + max(0, until - start) // size * size  # the buckets over by then
        expected, learnt, level, silence = self.volume.walk_quiet(
            start, until, level, silence, learn=False
        )
        for index, mean in enumerate(expected):
            on_bucket(
                BucketReport(
                    brand=self.brand,
                    start=start + index * size,
                    end=start + (index + 1) * size,
                    volume=0,
                    negatives=0,
                    expected_volume=mean if index < learnt else 0.0,
                    volume_score=0.0,
                    expected_negatives=0.0,
                    negative_score=self.negative.quiet_score() if index < learnt else 0.0,
                    silent=index >= learnt,
                )
            )
        self._walk = (self.dozing, until, level, silence)

    def _wake(self, until: int) -> None:
        """Learn the dozing stretch of empty buckets that ends at `until` in one step.

        Its buckets are walked as `close` would see them without mentions: the level and the
        seasonal profile learning each one's silence, the run's log-chance growing
        (`VolumeRule.walk_quiet`); the rest of what the buckets before it turns silent teach
        is learnt in one step (the rules' `learn_quiet`).
        """
        assert self.dozing is not None
        start, size = self.dozing, self.settings.bucket_seconds
        level = (self.volume.level.total, self.volume.level.weight)
        expected, learnt, level, silence = self.volume.walk_quiet(
            start, until, level, self.silence, learn=True
        )
        if learnt:
            self.negative.learn_quiet(start, expected[:learnt])
            self.volume.learn_quiet(start, expected[:learnt], level)
        self.silence = silence
        self.evidence.expire(until, learn=True)
        self.dozing = None
        self.changed = True
        self.position = self._next_boundary(until, until + size)

    def _next_boundary(self, end: int, bucket_end: int) -> int:
        """The first boundary after `end` that closes a bucket or follows a counted step."""
        step = self.settings.early_seconds
        if end == bucket_end:
            bucket_end += self.settings.bucket_seconds
        for boundary in range(end + step, bucket_end, step):  # at most a bucket's steps
            if boundary - step in self.open:
                return boundary
        return bucket_end

    def _explained(self, event: AlertEvent) -> AlertEvent:
        """A firing event with the explanation of the mentions dated before it."""
        if event.state != "firing":
            return event
        explanation = self.evidence.explain(int(event.at.timestamp()))
        return event.model_copy(update={"explanation": explanation})

    def check_early(self, start: int, until: int) -> list[AlertEvent]:
        """Fire on the partial counts of the bucket [start, until) if they already make a spike.

        Only the rules whose alert is inactive are judged (an active alert cannot fire again),
        and only once their counts reach the bucket's bound below which they cannot fire.
        """
        volume, negatives = self._counts(start, until, pop=False)
        counts: dict[AlertKind, int] = {"volume": volume, "negative": negatives}
        fraction = (until - start) / self.settings.bucket_seconds
        usual = self.volume.expected(start)
        events = []
        for kind, life in self.alerts.items():
            if life.active or counts[kind] < self._least_to_fire(kind, start):
                continue
            verdict = self._verdict(kind, start, volume, negatives, usual, fraction)
            event = life.early(verdict, start, until)
            if event is not None:
                events.append(event)
                self.changed = True
        self._restart_on(events)
        return events

    def _least_to_fire(self, kind: AlertKind, start: int) -> float:
        """The count below which the `kind` rule cannot fire in the bucket at `start`: one
        bound a bucket, as the rules learn only when it closes."""
        if self._least[0] != start:
            self._least = (start, {})
        known = self._least[1]
        if kind not in known:
            rule = self.volume if kind == "volume" else self.negative
            known[kind] = rule.least_to_fire(start)
        return known[kind]

    def _verdict(
        self,
        kind: AlertKind,
        start: int,
        volume: int,
        negatives: int,
        usual: float,
        fraction: float = 1.0,
    ) -> Verdict:
        """The `kind` rule's verdict on the first `fraction` of the bucket (the negatives'
        evidence is weighed against that fraction of the usual); `usual` is the volume the
        baseline expects for the whole bucket."""
        if kind == "volume":
            return self.volume.score_one(start, volume)
        return self.negative.score_one(start, volume, negatives, usual, fraction)

    def _restart_on(self, events: list[AlertEvent]) -> None:
        """A negative alert that fires takes the evidence behind it: its runs start afresh."""
        if any(e.kind == "negative" and e.state == "firing" for e in events):
            self.negative.restart()

    def close(self, start: int, end: int, on_bucket: BucketListener | None) -> list[AlertEvent]:
        """Judge the bucket [start, end), learn from it and return the state changes."""
        volume, negatives = self._counts(start, end, pop=True)
        silent = self._silent(start, volume)
        self.evidence.expire(end, learn=not self._alerting())
        self.changed = True
        verdicts: dict[AlertKind, Verdict] = {"volume": QUIET, "negative": QUIET}
        expected_volume = expected_negatives = 0.0
        if not silent:
            usual = self.volume.expected(start)
            verdicts = self._closing_verdicts(start, volume, negatives, usual, on_bucket is None)
            expected_volume, expected_negatives = usual, volume * self.negative.baseline_share
            volume_pace, negative_pace = self._paces(verdicts)
            self.steady = volume_pace == negative_pace == 1.0
            self.volume.learn_one(start, volume, volume_pace)
            self.negative.learn_one(start, volume, negatives, usual, negative_pace)
        if on_bucket is not None:
            on_bucket(
                BucketReport(
                    brand=self.brand,
                    start=start,
                    end=end,
                    volume=volume,
                    negatives=negatives,
                    expected_volume=expected_volume,
                    volume_score=verdicts["volume"].score,
                    expected_negatives=expected_negatives,
                    negative_score=verdicts["negative"].score,
                    silent=silent,
                )
            )
        events = []
        for kind, verdict in verdicts.items():
            event = None if silent else self.alerts[kind].update(verdict, start, end)
            if event is not None:
                events.append(event)
        self._restart_on(events)
        return events

    def _closing_verdicts(
        self, start: int, volume: int, negatives: int, usual: float, unscored: bool
    ) -> dict[AlertKind, Verdict]:
        """The rules' verdicts on the closed bucket at `start`.

        When nobody reads the bucket's scores (`unscored`: no bucket listener), no alert of
        the brand is active and neither count reaches the bound below which its rule cannot
        fire (`_least_to_fire`, as the early checks use), the rules are not judged in full:
        neither fires, and all that is left to know is which of the negative rule's windows
        are calm (the pace its baseline learns at, `_paces`).
        """
        if (
            unscored
            and not self._alerting()
            and volume < self._least_to_fire("volume", start)
            and negatives < self._least_to_fire("negative", start)
        ):
            return {"volume": QUIET, "negative": self.negative.calm(volume, negatives, usual)}
        return {kind: self._verdict(kind, start, volume, negatives, usual) for kind in KINDS}

    def _alerting(self) -> bool:
        """Whether an alert of the brand is active."""
        return any(life.active for life in self.alerts.values())

    def _paces(self, verdicts: dict[AlertKind, Verdict]) -> tuple[float, float]:
        """How fast the volume and the negative baselines learn from this bucket.

        Both slow down while an alert of the brand fires or is active, so an incident does
        not become the brand's normal. The negative share also slows down while any of its
        windows is not calm: a crisis that builds up below the bar on a few mentions is not
        absorbed before it is clear enough to fire.
        """
        slow = self.settings.incident_pace
        active = self._alerting()
        if active or any(verdict.fires for verdict in verdicts.values()):
            return slow, slow
        return 1.0, 1.0 if all(verdicts["negative"].calm_windows) else slow

    def _silent(self, start: int, volume: int) -> bool:
        """Whether this empty bucket ends a run of silence too unlikely to be the audience's."""
        if volume:
            self.silence = 0.0
            return False
        self.silence += self.volume.log_zero_chance(self.volume.expected(start))
        return self.silence < LOG_SILENCE_CHANCE

    def _counts(self, start: int, end: int, pop: bool) -> tuple[int, int]:
        volume = negatives = 0
        for step in range(start, end, self.settings.early_seconds):
            if pop:
                self.ids.forget(step)
            counts = self.open.pop(step, None) if pop else self.open.get(step)
            if counts is not None:
                volume += counts[0]
                negatives += counts[1]
        return volume, negatives

    def state(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "open": [[step, *counts] for step, counts in sorted(self.open.items())],
            "ids": self.ids.state(),
            "silence": self.silence,
            "dozing": self.dozing,
            "steady": self.steady,
            "walk": self._walk,
            "volume": self.volume.state(),
            "negative": self.negative.state(),
            "evidence": self.evidence.state(),
            "alerts": {kind: life.state() for kind, life in self.alerts.items()},
        }

    @classmethod
    def from_state(
        cls, brand: str, settings: DetectionSettings, state: dict[str, Any]
    ) -> BrandState:
        brand_state = cls(brand, settings, state["position"])
        brand_state.open = {row[0]: [row[1], row[2]] for row in state["open"]}
        brand_state.ids = OpenIds(state["ids"])
        brand_state.silence = state["silence"]
        brand_state.dozing = state.get("dozing")
        brand_state.steady = state.get("steady", False)
        if state.get("walk"):
            start, following, level, silence = state["walk"]
            brand_state._walk = (start, following, (level[0], level[1]), silence)
        brand_state.volume = VolumeRule(settings, state["volume"])
        brand_state.negative = NegativeRule(settings, state["negative"])
        brand_state.evidence = Evidence.from_state(brand, settings.explain, state["evidence"])
        for kind, life in state["alerts"].items():
            brand_state.alerts[kind].restore(life)
        return brand_state


class Engine:
    """Per-brand tumbling buckets in event time, spike rules and alert lifecycles."""

    def __init__(
        self,
        settings: DetectionSettings | None = None,
        scorer: SentimentRouter | None = None,
        on_bucket: BucketListener | None = None,
        statements: HoldingStatements | None = None,
        handles: Mapping[str, Collection[str]] | None = None,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        """`on_bucket`, if given, receives every closed bucket's report (the series).
        `statements` suggest the holding statement of each firing alert; `handles` are each
        brand's own accounts, whose posts are not counted (`Admission.OWN`).

        `owns`, if given, splits the work: only the brands it accepts are scored, counted and
        judged. The others are admitted as one engine would (late, ahead, brand limit,
        duplicate), neither scored nor judged, so that engines given complementary `owns` and
        the same input take every mention alike, and together emit what one engine does.
        Such an engine is not checkpointed (`snapshot` refuses): it splits a replay.
        """
        self.settings = settings or DetectionSettings()
        self.on_bucket = on_bucket
        self.scorer = scorer or SentimentRouter.for_settings(self.settings)
        self.statements = statements or HoldingStatements(default_templates())
        self.handles = Handles(handles)
        self.brands: dict[str, BrandState] = {}
        self.awake: dict[str, BrandState] = {}  # the brands not dozing, or with counts
        self.owns = owns
        # the brands `owns` leaves to other engines: their bucket length and open ids
        self.foreign: dict[str, tuple[int, OpenIds]] = {}
        self.closed_until: int | None = None
        self.latest: int | None = None  # the step of the latest mention counted
        self.suspect: int | None = None  # the step of the last mention dropped as ahead
        self.counts: Counter[str] = Counter()

    def step_of(self, epoch_seconds: int) -> int:
        """Start of the early-check step (a minute by default) holding this time."""
        return epoch_seconds - epoch_seconds % self.settings.early_seconds

    def add(self, mention: Mention) -> Scored:
        """Score a mention and count it in its brand's bucket, unless a rule drops it.

        Dropped, in this order: no brand; late (its bucket is closed); ahead (more than
        `max_ahead_hours` after the latest mention counted, which would otherwise close every
        bucket of every brand, unless the mention dropped as ahead just before is within
        `max_ahead_hours` of it: time did jump, after an outage say); a new brand beyond
        `max_brands`; a duplicate id.
        """
        brand = mention.brand
        if brand is None:
            return self._count(Scored(mention, Admission.UNBRANDED))
        foreign = self.owns is not None and not self.owns(brand)
        if self.handles.owns(mention):
            polarity = None if foreign else self.scorer.polarity(mention.text, mention.lang)
            return self._count(Scored(mention, Admission.OWN, polarity))
        step = self.step_of(int(mention.created_at.timestamp()))
        if self.closed_until is not None and step < self.closed_until:
            return self._count(Scored(mention, Admission.LATE))
        if self._ahead(step):
            return self._count(Scored(mention, Admission.AHEAD))
        if foreign:
            return self._count(self._admit_foreign(mention, step))
        state = self.brands.get(brand)
        if state is None:
            if self._full():
                return self._count(Scored(mention, Admission.BRAND_LIMIT))
            settings = self.settings.for_brand(brand)
            state = self.brands[brand] = BrandState(brand, settings, step + settings.early_seconds)
        elif step + self.settings.early_seconds < state.position:
            # older than the brand's first mention yet not late: time has not reached these
            # steps, so they are evaluated as if this one had come first (merged partitions)
            state.position = step + self.settings.early_seconds
        if not state.ids.first_sighting(step, mention.id):
            return self._count(Scored(mention, Admission.DUPLICATE))
        polarity, lang = self.scorer.judged(mention.text, mention.lang)
        negative = self.scorer.is_negative(polarity)
        state.count(step, negative)
        self.awake[brand] = state
        state.evidence.add(step, mention, lang, polarity.compound, negative)
        self._took(step)
        return self._count(Scored(mention, Admission.ACCEPTED, polarity, negative))

    def _admit_foreign(self, mention: Mention, step: int) -> Scored:
        """A mention of a brand another engine owns: admitted (ids and time kept), no more."""
        assert mention.brand is not None
        known = self.foreign.get(mention.brand)
        if known is None:
            if self._full():
                return Scored(mention, Admission.BRAND_LIMIT)
            size = self.settings.for_brand(mention.brand).bucket_seconds
            known = self.foreign[mention.brand] = (size, OpenIds())
        if not known[1].first_sighting(step, mention.id):
            return Scored(mention, Admission.DUPLICATE)
        self._took(step)
        return Scored(mention, Admission.ACCEPTED)

    def _full(self) -> bool:
        """Whether `max_brands` brands are tracked, owned or not: a new one is refused."""
        return len(self.brands) + len(self.foreign) >= self.settings.max_brands

    def _took(self, step: int) -> None:
        """A mention at `step` is counted: event time has reached it (see `_ahead`)."""
        self.latest = step if self.latest is None else max(self.latest, step)
        self.suspect = None

    def _ahead(self, step: int) -> bool:
        """Whether a mention at `step` is dropped as ahead (see `add`)."""
        reach = self.settings.max_ahead_hours * 3600
        if self.latest is None or step <= self.latest + reach:
            return False
        if self.suspect is not None and abs(step - self.suspect) <= reach:
            self.suspect = None
            return False
        self.suspect = step
        return True

    def advance(self, watermark: int | None) -> list[AlertEvent]:
        """Move event time to the watermark: check open buckets, close the finished ones.

        Every step boundary (a minute by default) up to the watermark is evaluated in order,
        so the alerts do not depend on how the watermark moved. Brands that went quiet have
        their buckets closed too (as empty buckets). Events come out ordered by event time,
        then brand and kind.
        """
        if watermark is None:
            return []
        boundary = self.step_of(watermark)
        if self.closed_until is not None and boundary <= self.closed_until:
            return []
        self.closed_until = boundary
        for size, ids in self.foreign.values():  # as the owner's closes do, bucket by bucket
            ids.forget_before(boundary - boundary % size)
        events: list[AlertEvent] = []
        # dozing brands without counts have nothing to do, unless their buckets are reported
        stepped = self.brands if self.on_bucket is not None else self.awake
        for state in list(stepped.values()):
            events.extend(map(self._with_statement, state.step_to(boundary, self.on_bucket)))
            if state.dozing is not None and not state.open:
                self.awake.pop(state.brand, None)
        events.sort(key=event_order)
        self.counts.update(f"alert_{e.state}" for e in events)
        return events

    def release(self, brand: str) -> BrandState:
        """Remove a brand and give its state (to be adopted by another engine)."""
        self.awake.pop(brand, None)
        return self.brands.pop(brand)

    def adopt(self, state: BrandState) -> None:
        """Track a brand with the state another engine released."""
        self.brands[state.brand] = self.awake[state.brand] = state
        state.changed = True

    def _with_statement(self, event: AlertEvent) -> AlertEvent:
        """An explained (firing) event with its holding statement; others as they are."""
        if event.explanation is None:
            return event
        statement = self.statements.suggest(event.brand, event.explanation)
        return event.model_copy(update={"holding_statement": statement})

    def active_alerts(self) -> list[tuple[str, AlertKind, Severity]]:
        """(brand, kind, severity) of each alert firing now."""
        return [
            (brand, kind, life.severity)
            for brand, state in sorted(self.brands.items())
            for kind, life in state.alerts.items()
            if life.active
        ]

    def take_changed(self) -> set[str]:
        """The brands whose state changed since the last call (what a checkpoint must write).

        A brand changes when it counts a mention, closes a bucket or emits an event. Time
        moving over early-check steps alone is left out: a brand restored with an older
        `position` evaluates those steps again, on the same counts, with the same verdicts.
        """
        changed = {brand for brand, state in self.brands.items() if state.changed}
        for brand in changed:
            self.brands[brand].changed = False
        return changed

    def snapshot(self, brands: Collection[str] | None = None) -> dict[str, Any]:
        """The state as a JSON-compatible dict: all brands, or only `brands`.

        A checkpoint writes the engine part and the changed brands' parts separately;
        `restore` rebuilds the engine from the union of the latest of each.
        """
        if self.owns is not None:
            raise ValueError("an engine that shares its brands with others is not checkpointed")
        chosen = self.brands if brands is None else {b: self.brands[b] for b in brands}
        return {
            "version": SNAPSHOT_VERSION,
            "settings": self.settings.model_dump(mode="json"),
            "closed_until": self.closed_until,
            "latest": self.latest,
            "suspect": self.suspect,
            "counts": dict(self.counts),
            "brands": {brand: state.state() for brand, state in chosen.items()},
        }

    @classmethod
    def restore(
        cls,
        snapshot: dict[str, Any],
        scorer: SentimentRouter | None = None,
        on_bucket: BucketListener | None = None,
        statements: HoldingStatements | None = None,
        handles: Mapping[str, Collection[str]] | None = None,
        settings: DetectionSettings | None = None,
    ) -> Engine:
        """Rebuild an engine from `snapshot()`, of this release or an earlier one; it goes on
        exactly where the original was. The scorer, listener, statements and handles are
        configuration, not state: give them again. With `settings` (another release's
        defaults, an edited configuration) the state goes on under those; a change of the
        state's shape (`migrations.shape_changes`) raises ValueError."""
        snapshot = migrated(snapshot)
        stored = DetectionSettings.model_validate(snapshot["settings"])
        settings = settings or stored
        changed = shape_changes(stored, settings)
        if changed:
            raise ValueError(f"state written with other {', '.join(changed)}")
        engine = cls(settings, scorer, on_bucket, statements, handles)
        engine.closed_until = snapshot["closed_until"]
        engine.latest = snapshot["latest"]
        engine.suspect = snapshot["suspect"]
        engine.counts = Counter(snapshot["counts"])
        engine.brands = {
            brand: BrandState.from_state(brand, engine.settings.for_brand(brand), state)
            for brand, state in snapshot["brands"].items()
        }
        engine.awake = {
            brand: state
            for brand, state in engine.brands.items()
            if state.dozing is None or state.open
        }
        return engine

    def _count(self, scored: Scored) -> Scored:
        self.counts[scored.admission.value] += 1
        if scored.negative:
            self.counts["negative"] += 1
        return scored
