"""Prometheus metrics of the detector service.

Names follow Prometheus conventions (`buzzwatch_` prefix, base units, `_total` counters).
Label values that come from the data (brands, sources) are bounded by `BoundedLabel`, so a
flood of unknown brands cannot grow the exposition without limit.
"""

from __future__ import annotations

import contextlib
import math
import platform
import time
from collections.abc import Iterable
from functools import partial

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from consumers.settings import MetricsSettings
from pipeline.engine import Admission, BucketReport, Scored
from pipeline.models import AlertEvent
from pipeline.sentiment import POSITIVE_COMPOUND

OTHER = "other"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RESTORE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class BoundedLabel:
    """Label values limited to a configured set, or to the first `cap` seen, else `other`."""

    def __init__(self, allowed: Iterable[str], cap: int) -> None:
        self._allowed = frozenset(allowed)
        self._cap = cap
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if self._allowed:
            return value if value in self._allowed else OTHER
        if value not in self._seen and len(self._seen) < self._cap:
            self._seen.add(value)
        return value if value in self._seen else OTHER


class DetectorMetrics:
    """The detector's metrics, on a registry of their own."""

    def __init__(
        self, settings: MetricsSettings | None = None, registry: CollectorRegistry | None = None
    ) -> None:
        settings = settings or MetricsSettings()
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.brand = BoundedLabel(settings.brands, settings.max_brands)
        self.source = BoundedLabel((), settings.max_sources)
        self._watermark: float | None = None
        self._firing: dict[tuple[str, str, str], set[str]] = {}
        r = self.registry
        counter, gauge = partial(Counter, registry=r), partial(Gauge, registry=r)
        histogram = partial(Histogram, registry=r)
        self.mentions = counter(
            "buzzwatch_mentions",
            "Mentions accepted and counted, by brand, source and sentiment.",
            ["brand", "source", "sentiment"],
        )
        self.rejected = counter(
            "buzzwatch_records_rejected",
            "Records not counted, by reason (invalid_json, invalid_record, unbranded, ahead, "
            "brand_limit, late, duplicate, own: the brand's own posts).",
            ["reason"],
        )
        self.dead_letters = counter(
            "buzzwatch_dead_letters",
            "Records sent to the dead-letter topic, by reason.",
            ["reason"],
        )
        self.skipped = counter(
            "buzzwatch_records_skipped",
            "Records not read because an operator asked so (`buzzwatch skip`).",
        )
        self.rekeyed = counter(
            "buzzwatch_records_rekeyed",
            "Mentions read off their brand's home partition (a producer with another "
            "partitioner) and produced to it for the detector that owns it.",
        )
        self.alert_events = counter(
            "buzzwatch_alert_events",
            "Alert events published.",
            ["brand", "kind", "state", "severity"],
        )
        self.alerts_active = gauge(
            "buzzwatch_alerts_active",
            "1 while the detector's alert of (brand, kind) is firing, else 0.",
            ["brand", "kind", "severity"],
        )
        self.spike_score = gauge(
            "buzzwatch_spike_score",
            "Spike score of the last closed bucket: 0.5 at the firing bar, 1 at the critical one.",
            ["brand", "kind"],
        )
        self.bucket_mentions = gauge(
            "buzzwatch_bucket_mentions", "Mentions in the brand's last closed bucket.", ["brand"]
        )
        self.bucket_expected = gauge(
            "buzzwatch_bucket_expected_mentions",
            "Mentions the baseline expected in the brand's last closed bucket.",
            ["brand"],
        )
        self.bucket_negative_ratio = gauge(
            "buzzwatch_bucket_negative_ratio",
            "Negative share of the brand's last closed bucket (0 to 1).",
            ["brand"],
        )
        self.batch_seconds = histogram(
            "buzzwatch_batch_processing_seconds",
            "Wall time to process one polled batch, publishing and acknowledgements included.",
            buckets=LATENCY_BUCKETS,
        )
        self.scoring_seconds = histogram(
            "buzzwatch_scoring_seconds",
            "Wall time to decode, score and count one polled batch's records.",
            buckets=LATENCY_BUCKETS,
        )
        self.watermark = gauge(
            "buzzwatch_watermark_timestamp_seconds", "Event-time watermark, as a Unix time."
        )
        self.event_time_lag = gauge(
            "buzzwatch_event_time_lag_seconds", "Wall-clock time minus the event-time watermark."
        )
        self.event_time_lag.set_function(self._event_time_lag)
        self.consumer_lag = gauge(
            "buzzwatch_consumer_lag_records",
            "Records between the consumer's position and the partition's high watermark.",
            ["topic", "partition"],
        )
        self.commits = counter(
            "buzzwatch_offset_commits",
            "Transactions committed (alerts, dead letters, state and consumed offsets together).",
        )
        self.restarts = counter(
            "buzzwatch_detector_restarts",
            "Sessions started again after a Kafka error (broker lost, producer fenced).",
        )
        self.restore_seconds = histogram(
            "buzzwatch_state_restore_seconds",
            "Wall time to read the state of newly assigned partitions from the state topic.",
            buckets=RESTORE_BUCKETS,
        )
        self.restored_bytes = gauge(
            "buzzwatch_state_restored_bytes",
            "Bytes of state records read when the partition was last assigned.",
            ["partition"],
        )
        self.restored_brands = gauge(
            "buzzwatch_state_restored_brands",
            "Brands whose state was restored when the partition was last assigned.",
            ["partition"],
        )
        self.state_written_bytes = counter(
            "buzzwatch_state_written_bytes",
            "Bytes of state records written to the state topic (before compression).",
        )
        self.rebalances = counter(
            "buzzwatch_rebalances",
            "Consumer-group rebalances, by event (assigned, revoked, lost).",
            ["event"],
        )
        self.source_last_seen = gauge(
            "buzzwatch_source_last_seen_timestamp_seconds",
            "Wall-clock time the last mention of a source was processed.",
            ["source"],
        )
        Info("buzzwatch_build", "Build information.", registry=r).info(
            {"version": _version(), "python": platform.python_version()}
        )
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes...
        PlatformCollector(registry=r)  # python_info

    def serve(self, port: int, address: str) -> None:
        """Expose the metrics over HTTP at `address:port/metrics`."""
        start_http_server(port, addr=address, registry=self.registry)

    def record_mention(self, scored: Scored) -> None:
        if scored.admission is not Admission.ACCEPTED:
            self.rejected.labels(scored.admission.value).inc()
            return
        source = self.source(scored.mention.source)
        self.mentions.labels(
            self.brand(scored.mention.brand or ""), source, _sentiment(scored)
        ).inc()
        self.source_last_seen.labels(source).set(time.time())

    def record_alert(self, event: AlertEvent) -> None:
        """Count the event; `alerts_active` of `other` is 1 while any brand folded into it fires."""
        brand = self.brand(event.brand)
        self.alert_events.labels(brand, event.kind, event.state, event.severity).inc()
        self.set_firing(event.brand, event.kind, event.severity, event.state == "firing")

    def set_firing(self, brand: str, kind: str, severity: str, firing: bool) -> None:
        """Mark one brand's alert firing or not (also when a partition is restored or revoked)."""
        label = self.brand(brand)
        brands = self._firing.setdefault((label, kind, severity), set())
        if firing:
            brands.add(brand)
        else:
            brands.discard(brand)
        self.alerts_active.labels(label, kind, severity).set(bool(brands))

    def record_restore(self, partition: int, size: int, brands: int) -> None:
        self.restored_bytes.labels(str(partition)).set(size)
        self.restored_brands.labels(str(partition)).set(brands)

    def forget_partition(self, topic: str, partition: int) -> None:
        """Drop the series of a partition this detector no longer owns."""
        for gauge, labels in (
            (self.consumer_lag, (topic, str(partition))),
            (self.restored_bytes, (str(partition),)),
            (self.restored_brands, (str(partition),)),
        ):
            with contextlib.suppress(KeyError):
                gauge.remove(*labels)

    def record_bucket(self, report: BucketReport) -> None:
        """The engine's report of a closed bucket (its `on_bucket` listener).

        Brands folded into `other` are left out: one brand's bucket would hide another's.
        """
        brand = self.brand(report.brand)
        if brand == OTHER:
            return
        self.bucket_mentions.labels(brand).set(report.volume)
        self.bucket_expected.labels(brand).set(report.expected_volume)
        self.bucket_negative_ratio.labels(brand).set(report.negative_share)
        self.spike_score.labels(brand, "volume").set(report.volume_score)
        self.spike_score.labels(brand, "negative").set(report.negative_score)

    def record_watermark(self, watermark: int) -> None:
        self._watermark = watermark
        self.watermark.set(watermark)

    def _event_time_lag(self) -> float:
        return math.nan if self._watermark is None else time.time() - self._watermark


def _sentiment(scored: Scored) -> str:
    if scored.negative:
        return "negative"
    if scored.polarity is not None and scored.polarity.compound >= POSITIVE_COMPOUND:
        return "positive"
    return "neutral"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("buzzwatch")
    except PackageNotFoundError:
        return "unknown"
