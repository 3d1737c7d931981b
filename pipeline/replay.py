"""Embedded replay: a finite stream of records through the engine, with no broker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pipeline.engine import Admission, Engine
from pipeline.models import AlertEvent, Invalid, Mention
from pipeline.watermark import Watermark

MAX_REPORTED_ERRORS = 1000


@dataclass
class ReplaySummary:
    """What a replay read, kept, skipped and raised."""

    records: int = 0
    accepted: int = 0
    late: int = 0
    unbranded: int = 0
    invalid: int = 0
    alerts: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        """Count a skipped record; keep the first reasons for the report."""
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append((line, reason))


def replay(
    records: Iterable[tuple[int, Mention | Invalid]],
    engine: Engine,
    on_alert: Callable[[AlertEvent], None],
) -> ReplaySummary:
    """Run numbered records through the engine; alerts go to `on_alert` as they happen.

    The watermark follows the largest event time seen, less the allowed lateness, as the Kafka
    consumer's does once it has caught up; buckets after the last watermark stay open.
    """
    summary = ReplaySummary()
    watermark = Watermark(engine.settings.allowed_lateness_seconds)
    for line, record in records:
        summary.records += 1
        if isinstance(record, Invalid):
            summary.invalid += 1
            summary.reject(line, record.reason)
            continue
        scored = engine.add(record)
        if scored.admission is Admission.UNBRANDED:
            summary.unbranded += 1
            summary.reject(line, "no brand")
            continue
        if scored.admission is Admission.LATE:
            summary.late += 1
            continue
        summary.accepted += 1
        watermark.observe(0, int(record.created_at.timestamp()))
        for event in engine.advance(watermark.current()):
            summary.alerts += 1
            on_alert(event)
    return summary
