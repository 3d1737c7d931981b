"""Prometheus metrics of the detector service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from pipeline.engine import Admission, Scored
from pipeline.models import AlertEvent


class DetectorMetrics:
    """The detector's metrics, on a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.mentions = Counter(
            "buzzwatch_mentions", "Mentions processed.", ["brand", "sentiment"], registry=r
        )
        self.rejected = Counter(
            "buzzwatch_records_rejected", "Records not counted, by reason.", ["reason"], registry=r
        )
        self.dead_letters = Counter(
            "buzzwatch_dead_letters", "Records sent to the dead-letter topic.", registry=r
        )
        self.alert_events = Counter(
            "buzzwatch_alert_events",
            "Alert state changes published.",
            ["brand", "kind", "state", "severity"],
            registry=r,
        )
        self.alerts_active = Gauge(
            "buzzwatch_alerts_active", "Alerts firing now.", ["brand", "kind"], registry=r
        )
        self.watermark = Gauge(
            "buzzwatch_watermark_timestamp_seconds",
            "Event-time watermark, as a Unix time.",
            registry=r,
        )
        self.commits = Counter("buzzwatch_offset_commits", "Offset commits.", registry=r)
        self.batch_seconds = Histogram(
            "buzzwatch_batch_processing_seconds", "Time to process one polled batch.", registry=r
        )

    def serve(self, port: int, address: str) -> None:
        """Expose the metrics over HTTP at `address:port/metrics`."""
        start_http_server(port, addr=address, registry=self.registry)

    def record_mention(self, scored: Scored) -> None:
        if scored.admission is Admission.ACCEPTED:
            sentiment = "negative" if scored.negative else "other"
            self.mentions.labels(scored.mention.brand, sentiment).inc()
        else:
            self.rejected.labels(scored.admission.value).inc()

    def record_alert(self, event: AlertEvent) -> None:
        self.alert_events.labels(event.brand, event.kind, event.state, event.severity).inc()
        self.alerts_active.labels(event.brand, event.kind).set(event.state == "firing")
