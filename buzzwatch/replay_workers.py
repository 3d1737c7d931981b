"""`buzzwatch replay --workers N`: one file replayed by N processes, its brands split among them.

Each worker reads the whole file and admits every mention as one engine would (the watermark
and the admission rules need them all), but scores, counts and judges only its share of the
brands: those whose home partition among N is its index, by the murmur2 hash the Kafka path
keys mentions with. The parent merges the workers' alerts and series rows in the order one
engine emits them, so the outputs are byte-identical to one process's.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from buzzwatch.replay_setup import ReplaySetup
from buzzwatch.replay_sources import file_source
from pipeline.engine import Admission, BucketReport, Engine, Scored, event_order
from pipeline.models import AlertEvent
from pipeline.replay import ReplaySummary, replay


@dataclass(frozen=True)
class Job:
    """What a worker replays: the file, its selection and configuration, and its share."""

    input: Path
    format: str | None
    start: datetime | None
    end: datetime | None
    config: Path | None
    series: bool
    index: int = 0
    count: int = 1
    progress: bool = False

    def owns(self, brand: str) -> bool:
        return _home(brand, self.count) == self.index


@functools.lru_cache(maxsize=100_000)  # asked at every mention, of few brands mostly
def _home(brand: str, count: int) -> int:
    """`brand`'s home partition among `count` (the Kafka path's murmur2 hash)."""
    from consumers.topics import home_partition

    return home_partition(brand, count)


@dataclass
class ShareResult:
    """A worker's summary and outputs, each tagged with the boundary of the engine's advance
    that emitted it (all workers advance alike), and the order brands were first counted."""

    summary: ReplaySummary
    outside: int
    alerts: list[tuple[int, AlertEvent]]
    reports: list[tuple[int, BucketReport]]
    brand_order: dict[str, int]


def replay_share(job: Job) -> ShareResult:
    """Replay the whole file, owning the brands of `job`'s share."""
    from buzzwatch.configuration import load_config

    setup = ReplaySetup.from_config(load_config(job.config))
    reports: list[tuple[int, BucketReport]] = []
    alerts: list[tuple[int, AlertEvent]] = []
    order: dict[str, int] = {}
    engine = setup.engine(
        on_bucket=(lambda r: reports.append((_boundary(engine), r))) if job.series else None,
        owns=job.owns,
    )

    def on_scored(scored: Scored) -> None:
        brand = scored.mention.brand
        if scored.admission is Admission.ACCEPTED and brand not in order:
            order[str(brand)] = len(order)

    with file_source(job.input, job.format, job.start, job.end, job.progress) as source:
        summary = replay(
            source.records,
            engine,
            lambda event: alerts.append((_boundary(engine), event)),
            setup.matcher,
            on_scored,
        )
    return ShareResult(summary, source.outside, alerts, reports, order)


def _boundary(engine: Engine) -> int:
    assert engine.closed_until is not None, "events come from an advance"
    return engine.closed_until


def parallel_replay(
    job: Job, workers: int
) -> tuple[ReplaySummary, int, list[AlertEvent], list[BucketReport]]:
    """The summary, records outside the range, alerts and series of `job` replayed by
    `workers` processes, as one process would give them."""
    jobs = [
        dataclasses.replace(job, index=index, count=workers, progress=job.progress and not index)
        for index in range(workers)
    ]
    # forked workers start with the parent's imports done; spawned ones off Linux, where
    # forking a process is not safe (macOS) or not possible (Windows)
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        results = list(pool.map(replay_share, jobs))
    first = results[0]
    for result in results[1:]:
        ours, theirs = first.summary, result.summary
        if dataclasses.replace(theirs, alerts=ours.alerts) != ours:
            raise RuntimeError("replay workers took the records differently")
    alerts = sorted(
        (tagged for result in results for tagged in result.alerts),
        key=lambda tagged: (tagged[0], *event_order(tagged[1])),
    )
    order = first.brand_order
    reports = sorted(
        (tagged for result in results for tagged in result.reports),
        key=lambda tagged: (tagged[0], order[tagged[1].brand], tagged[1].start),
    )
    summary = dataclasses.replace(first.summary, alerts=len(alerts))
    return summary, first.outside, [event for _, event in alerts], [r for _, r in reports]
