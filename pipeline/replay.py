"""Embedded replay: a finite stream of records through the engine, with no broker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pipeline.brands import BrandMatcher, assigned
from pipeline.engine import Admission, Engine, Scored
from pipeline.models import AlertEvent, Invalid, Mention
from pipeline.records import Rejections
from pipeline.watermark import Watermark

REASONS = {
    Admission.UNBRANDED: "no brand",
    Admission.AHEAD: "dated too far after the stream's event time (max_ahead_hours)",
    Admission.BRAND_LIMIT: "too many brands tracked already (max_brands)",
}
UNMATCHED = "no brand, and its text names none of the configured brands"


@dataclass
class ReplaySummary:
    """What a replay read, kept, skipped and raised."""

    records: int = 0
    matched: int = 0  # mentions without a brand that named configured brands
    accepted: int = 0  # mentions counted, once per brand
    late: int = 0
    duplicate: int = 0
    unbranded: int = 0
    dropped: int = 0  # too far ahead in time, or beyond the brand limit
    own: int = 0  # posts of the brands' own handles: not counted
    invalid: int = 0
    alerts: int = 0
    rejected: Rejections = field(default_factory=Rejections)


def replay(
    records: Iterable[tuple[int, Mention | Invalid]],
    engine: Engine,
    on_alert: Callable[[AlertEvent], None],
    matcher: BrandMatcher | None = None,
    on_scored: Callable[[Scored], None] | None = None,
) -> ReplaySummary:
    """Run numbered records through the engine; alerts go to `on_alert` as they happen, and
    each mention as the engine took it to `on_scored` (before the alerts it may cause).

    With a `matcher`, a mention without a brand counts for each configured brand its text names.
    The watermark follows the largest event time seen, less the allowed lateness, as the Kafka
    consumer's does once it has caught up; buckets after the last watermark stay open.
    """
    summary = ReplaySummary()
    watermark = Watermark(engine.settings.allowed_lateness_seconds)
    for line, record in records:
        summary.records += 1
        if isinstance(record, Invalid):
            summary.invalid += 1
            summary.rejected.add(line, record.reason)
            continue
        mentions = assigned(matcher, record)
        if record.brand is None and mentions[0].brand is not None:
            summary.matched += 1
        for mention in mentions:
            scored = engine.add(mention)
            if on_scored is not None:
                on_scored(scored)
            admission = scored.admission
            if admission is Admission.UNBRANDED:
                summary.unbranded += 1
                summary.rejected.add(line, REASONS[admission] if matcher is None else UNMATCHED)
            elif admission.rejected:
                summary.dropped += 1
                summary.rejected.add(line, REASONS[admission])
            elif admission is Admission.LATE:
                summary.late += 1
            elif admission is Admission.DUPLICATE:
                summary.duplicate += 1
            elif admission is Admission.OWN:
                summary.own += 1
            else:
                summary.accepted += 1
                if watermark.observe(0, int(mention.created_at.timestamp())):  # it moved
                    for event in engine.advance(watermark.current()):
                        summary.alerts += 1
                        on_alert(event)
    return summary
