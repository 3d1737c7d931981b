"""The engine: scored mentions into per-brand event-time buckets, closed buckets into alerts.

Drivers (the file replay and the Kafka consumer) call `add` for each mention and `advance`
with the watermark; the engine never looks at the wall clock. Its whole state is a plain
JSON-compatible dict (`snapshot`) from which an equivalent engine is rebuilt (`restore`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pipeline.alerts import AlertLifecycle
from pipeline.detectors import NegativeRule, VolumeRule
from pipeline.models import AlertEvent, Mention
from pipeline.sentiment import Polarity, SentimentRouter
from pipeline.settings import DetectionSettings

SNAPSHOT_VERSION = 1


class Admission(StrEnum):
    """What became of a mention handed to the engine."""

    ACCEPTED = "accepted"
    LATE = "late"  # its bucket was already closed by the watermark
    UNBRANDED = "unbranded"  # no brand: nothing to count it against


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
    expected_volume: float
    volume_score: float
    expected_negatives: float
    negative_score: float

    @property
    def negative_share(self) -> float:
        return self.negatives / self.volume if self.volume else 0.0


BucketListener = Callable[[BucketReport], None]


class BrandState:
    """One brand's open buckets, rules and alert lifecycles."""

    def __init__(self, brand: str, settings: DetectionSettings, next_bucket: int) -> None:
        self.brand = brand
        self.next_bucket = next_bucket
        self.open: dict[int, list[int]] = {}
        self.volume = VolumeRule(settings)
        self.negative = NegativeRule(settings)
        resolve_after = settings.resolve_after_buckets
        self.alerts = {
            "volume": AlertLifecycle(brand, "volume", resolve_after),
            "negative": AlertLifecycle(brand, "negative", resolve_after),
        }

    def close(
        self, start: int, end: int, on_bucket: BucketListener | None = None
    ) -> list[AlertEvent]:
        """Judge the bucket [start, end), learn from it and return the state changes."""
        volume, negatives = self.open.pop(start, (0, 0))
        verdicts = {
            "volume": self.volume.score_one(volume),
            "negative": self.negative.score_one(volume, negatives),
        }
        if on_bucket is not None:
            on_bucket(
                BucketReport(
                    brand=self.brand,
                    start=start,
                    end=end,
                    volume=volume,
                    negatives=negatives,
                    expected_volume=verdicts["volume"].expected,
                    volume_score=verdicts["volume"].score,
                    expected_negatives=verdicts["negative"].expected,
                    negative_score=verdicts["negative"].score,
                )
            )
        self.volume.learn_one(volume)
        self.negative.learn_one(volume, negatives)
        events = []
        for kind, verdict in verdicts.items():
            event = self.alerts[kind].update(verdict, start, end)
            if event is not None:
                events.append(event)
        return events

    def state(self) -> dict[str, Any]:
        return {
            "next_bucket": self.next_bucket,
            "open": [[start, *counts] for start, counts in sorted(self.open.items())],
            "volume": self.volume.state(),
            "negative": self.negative.state(),
            "alerts": {kind: life.state() for kind, life in self.alerts.items()},
        }

    @classmethod
    def from_state(
        cls, brand: str, settings: DetectionSettings, state: dict[str, Any]
    ) -> BrandState:
        brand_state = cls(brand, settings, state["next_bucket"])
        brand_state.open = {row[0]: [row[1], row[2]] for row in state["open"]}
        brand_state.volume = VolumeRule.from_state(settings, state["volume"])
        brand_state.negative = NegativeRule.from_state(settings, state["negative"])
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
    ) -> None:
        """`on_bucket`, if given, receives every closed bucket's report (the series)."""
        self.settings = settings or DetectionSettings()
        self.on_bucket = on_bucket
        self.scorer = scorer or SentimentRouter(self.settings.negative_threshold)
        self.brands: dict[str, BrandState] = {}
        self.closed_until: int | None = None
        self.counts: Counter[str] = Counter()

    def bucket_of(self, epoch_seconds: int) -> int:
        size = self.settings.bucket_seconds
        return epoch_seconds - epoch_seconds % size

    def add(self, mention: Mention) -> Scored:
        """Score a mention and count it in its brand's bucket, unless it is late or unbranded."""
        brand = mention.brand
        if brand is None:
            return self._count(Scored(mention, Admission.UNBRANDED))
        bucket = self.bucket_of(int(mention.created_at.timestamp()))
        if self.closed_until is not None and bucket < self.closed_until:
            return self._count(Scored(mention, Admission.LATE))
        polarity = self.scorer.polarity(mention.text, mention.lang)
        negative = self.scorer.is_negative(polarity)
        state = self.brands.get(brand)
        if state is None:
            state = self.brands[brand] = BrandState(brand, self.settings, bucket)
        counts = state.open.setdefault(bucket, [0, 0])
        counts[0] += 1
        counts[1] += negative
        return self._count(Scored(mention, Admission.ACCEPTED, polarity, negative))

    def advance(self, watermark: int | None) -> list[AlertEvent]:
        """Close every bucket that ends at or before the watermark, for every brand.

        Brands that went quiet have their buckets closed too (as empty buckets). Events come
        out ordered by event time, then brand and kind.
        """
        if watermark is None:
            return []
        boundary = self.bucket_of(watermark)
        if self.closed_until is not None and boundary <= self.closed_until:
            return []
        self.closed_until = boundary
        size = self.settings.bucket_seconds
        events: list[AlertEvent] = []
        for state in self.brands.values():
            while state.next_bucket < boundary:
                start = state.next_bucket
                events.extend(state.close(start, start + size, self.on_bucket))
                state.next_bucket = start + size
        events.sort(key=lambda e: (e.at, e.brand, e.kind, e.state))
        self.counts.update(f"alert_{e.state}" for e in events)
        return events

    def active_alerts(self) -> list[tuple[str, str]]:
        """(brand, kind) pairs whose alert is firing now."""
        return [
            (brand, kind)
            for brand, state in sorted(self.brands.items())
            for kind, life in state.alerts.items()
            if life.active
        ]

    def snapshot(self) -> dict[str, Any]:
        """The whole state as a JSON-compatible dict."""
        return {
            "version": SNAPSHOT_VERSION,
            "settings": self.settings.model_dump(mode="json"),
            "closed_until": self.closed_until,
            "counts": dict(self.counts),
            "brands": {brand: state.state() for brand, state in self.brands.items()},
        }

    @classmethod
    def restore(
        cls,
        snapshot: dict[str, Any],
        scorer: SentimentRouter | None = None,
        on_bucket: BucketListener | None = None,
    ) -> Engine:
        """Rebuild an engine from `snapshot()`; it goes on exactly where the original was."""
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {snapshot.get('version')!r}")
        engine = cls(DetectionSettings.model_validate(snapshot["settings"]), scorer, on_bucket)
        engine.closed_until = snapshot["closed_until"]
        engine.counts = Counter(snapshot["counts"])
        engine.brands = {
            brand: BrandState.from_state(brand, engine.settings, state)
            for brand, state in snapshot["brands"].items()
        }
        return engine

    def _count(self, scored: Scored) -> Scored:
        self.counts[scored.admission.value] += 1
        if scored.negative:
            self.counts["negative"] += 1
        return scored
