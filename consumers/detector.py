"""`buzzwatch detect`: the Kafka consumer-group service around the engine.

Per polled batch: decode, score and count each record, publish alert events (keyed by brand)
and dead letters, wait until the broker has acknowledged all of them, then commit the
batch's offsets. A crash therefore replays at most the last batch: nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from consumers.metrics import DetectorMetrics
from consumers.settings import KafkaSettings
from pipeline.engine import Admission, Engine
from pipeline.models import AlertEvent, Invalid, Mention
from pipeline.records import decode_record
from pipeline.replay import REASONS
from pipeline.watermark import Watermark

log = logging.getLogger("buzzwatch.detect")

POLL_TIMEOUT_MS = 500
FUTURE_REASON = "dated after now + max_ahead_hours"
SEND_TIMEOUT_SECONDS = 60.0


class _Lanes(ConsumerRebalanceListener):  # type: ignore[misc]
    """Keeps the watermark's lanes equal to the assigned partitions; counts rebalances."""

    def __init__(self, watermark: Watermark, metrics: DetectorMetrics) -> None:
        self._watermark = watermark
        self._metrics = metrics

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self._metrics.rebalances.labels("revoked").inc()
        for tp in revoked:
            self._watermark.forget(tp.partition)
            self._metrics.consumer_lag.remove(tp.topic, str(tp.partition))

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self._metrics.rebalances.labels("assigned").inc()
        for tp in assigned:
            self._watermark.expect(tp.partition)


class Detector:
    """Consumes mentions, runs the engine and publishes alerts and dead letters."""

    def __init__(self, kafka: KafkaSettings, engine: Engine, metrics: DetectorMetrics) -> None:
        self.kafka = kafka
        self.engine = engine
        self.metrics = metrics
        self.watermark = Watermark(engine.settings.allowed_lateness_seconds)
        self._pending: list[Any] = []

    def run(self, stop: threading.Event) -> None:
        """Process batches until `stop` is set, then finish the batch, commit and close."""
        consumer = KafkaConsumer(
            **self.kafka.client_options(),
            group_id=self.kafka.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.kafka.max_poll_records,
        )
        lanes = _Lanes(self.watermark, self.metrics)
        consumer.subscribe([self.kafka.mentions_topic], listener=lanes)
        producer = KafkaProducer(
            **self.kafka.client_options(),
            acks="all",
            linger_ms=5,
        )
        try:
            while not stop.is_set():
                batch = consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
                started = time.perf_counter()
                self._process(batch, producer)
                processed = time.perf_counter()
                self._track_positions(consumer)
                watermark = self.watermark.current()
                self._publish_alerts(producer, self.engine.advance(watermark))
                if watermark is not None:
                    self.metrics.record_watermark(watermark)
                self._await_acks(producer)
                if batch:
                    consumer.commit()
                    self.metrics.commits.inc()
                    self.metrics.scoring_seconds.observe(processed - started)
                    self.metrics.batch_seconds.observe(time.perf_counter() - started)
        finally:
            producer.close(timeout=SEND_TIMEOUT_SECONDS)
            consumer.close()

    def _process(self, batch: dict[TopicPartition, list[Any]], producer: KafkaProducer) -> None:
        for tp, records in batch.items():
            for record in records:
                decoded = decode_record(record.value or b"")
                if isinstance(decoded, Invalid):
                    self.metrics.record_invalid(decoded.kind)
                    self._dead_letter(producer, record, decoded.kind, decoded.reason)
                    continue
                if self._from_the_future(decoded):
                    self.metrics.record_invalid(Admission.AHEAD.value)
                    self._dead_letter(producer, record, Admission.AHEAD.value, FUTURE_REASON)
                    continue
                scored = self.engine.add(decoded)
                self.metrics.record_mention(scored)
                if scored.admission.rejected:
                    reason = REASONS[scored.admission]
                    self._dead_letter(producer, record, scored.admission.value, reason)
                elif scored.admission is Admission.ACCEPTED:
                    event_time = int(decoded.created_at.timestamp())
                    self.watermark.observe(tp.partition, event_time)
                    events = self.engine.advance(self.watermark.current())
                    self._publish_alerts(producer, events)

    def _from_the_future(self, mention: Mention) -> bool:
        """Dated after now + `max_ahead_hours`: no live post is, and the first such record
        would otherwise carry event time years ahead (the engine's own rule starts later)."""
        ahead = self.engine.settings.max_ahead_hours * 3600
        return mention.created_at.timestamp() > time.time() + ahead

    def _track_positions(self, consumer: KafkaConsumer) -> None:
        """Record each partition's lag; one that reached its end no longer holds time back."""
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is None:
                continue
            lag = max(0, end - consumer.position(tp))
            self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
            if lag == 0:
                self.watermark.set_idle(tp.partition)

    def _publish_alerts(self, producer: KafkaProducer, events: list[AlertEvent]) -> None:
        for event in events:
            value = event.to_json().encode()
            future = producer.send(self.kafka.alerts_topic, key=event.brand.encode(), value=value)
            self._pending.append(future)
            self.metrics.record_alert(event)
            log.info("alert %s %s %s %s", event.state, event.brand, event.kind, event.at)

    def _dead_letter(self, producer: KafkaProducer, record: Any, kind: str, reason: str) -> None:
        headers = [
            ("buzzwatch.reason", reason.encode()),
            ("buzzwatch.reason_kind", kind.encode()),
            ("buzzwatch.source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        future = producer.send(
            self.kafka.dead_letter_topic, key=record.key, value=record.value, headers=headers
        )
        self._pending.append(future)
        self.metrics.record_dead_letter(kind)
        log.warning("dead letter %s/%s: %s", record.partition, record.offset, reason)

    def _await_acks(self, producer: KafkaProducer) -> None:
        """Block until every record sent for this batch is acknowledged (or raise)."""
        if not self._pending:
            return
        producer.flush(timeout=SEND_TIMEOUT_SECONDS)
        for future in self._pending:
            future.get(timeout=SEND_TIMEOUT_SECONDS)
        self._pending.clear()
