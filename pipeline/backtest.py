"""Backtest: a series of per-bucket mention counts through the stream detector's own rules.

Each input row is one bucket (NAB's `timestamp,value` files: mentions per 5 minutes). The
rows go through the same `BrandState` the engine closes buckets with, so the answer is the
volume alerts the live detector would raise on those counts, debounced the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from pipeline.engine import BrandState, BucketReport
from pipeline.settings import DetectionSettings

BACKTEST_BRAND = "backtest"


@dataclass(frozen=True, slots=True)
class BacktestRow:
    """One input bucket and what the volume rule made of it."""

    timestamp: datetime
    value: int
    anomaly_score: float  # 1.0 where a volume alert starts firing, else 0.0
    spike_score: float  # the rule's score of the bucket, in [0, 1]


def backtest(
    rows: Iterable[tuple[datetime, int]], settings: DetectionSettings | None = None
) -> Iterator[BacktestRow]:
    """Judge each (bucket start, count) in order; rows must be evenly spaced by the bucket.

    A negative value (not a count: some NAB families are other metrics) is taken as zero.
    """
    settings = settings or DetectionSettings()
    state: BrandState | None = None
    reports: list[BucketReport] = []
    for timestamp, value in rows:
        start = int(timestamp.timestamp())
        if state is None:
            state = BrandState(BACKTEST_BRAND, settings, start)
        state.open[start] = [max(value, 0), 0]
        events = state.close(start, start + settings.bucket_seconds, reports.append)
        fired = any(e.kind == "volume" and e.state == "firing" for e in events)
        report = reports.pop()
        yield BacktestRow(timestamp, value, 1.0 if fired else 0.0, report.volume_score)
