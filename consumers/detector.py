"""`buzzwatch detect`: the Kafka consumer-group service around the engine.

Each assigned mentions partition is a task with an engine of its own (the brands whose home
it is: their name hashed with murmur2, as Kafka's default partitioner does), restored from the
state topic (consumers/checkpoints.py) when the partition is assigned. A mention read from
another partition (a producer with another partitioner, librdkafka's CRC32 say) is counted by
its brand's home task when this detector owns it, and otherwise re-keyed: produced to its
home partition, in the same transaction, so that the owner counts it once. Every engine
follows one event time: the slowest partition that still has something to read.

Per polled batch, in one Kafka transaction: decode, score and count each record; publish the
alert events (keyed by brand) and dead letters; write the state of the brands that changed;
commit the consumed offsets. A crash therefore leaves the alerts topic, the
state and the offsets as of the last committed batch, and the restarted detector goes on from
there: consumers reading the alerts topic `read_committed` see each alert event once.

A session (clients, tasks) that fails on a Kafka error is dropped whole and a new one starts
after a backoff, restoring from the last checkpoint: the same path as a restart.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from consumers import checkpoints
from consumers.metrics import DetectorMetrics
from consumers.settings import KafkaSettings
from consumers.topics import TopicError, home_partition
from pipeline.engine import Admission, Engine
from pipeline.models import AlertEvent, Invalid, Mention
from pipeline.records import decode_record
from pipeline.replay import REASONS
from pipeline.sentiment import SentimentRouter
from pipeline.settings import DetectionSettings
from pipeline.statements import HoldingStatements
from pipeline.watermark import Watermark

log = logging.getLogger("buzzwatch.detect")

POLL_TIMEOUT_MS = 500
FUTURE_REASON = "dated after now + max_ahead_hours"
SEND_TIMEOUT_SECONDS = 60.0
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
# A dead letter keeps at most this much of the record: far under the 1 MiB the producer and
# the broker take by default, whatever the record's headers and the topic's settings add.
DEAD_LETTER_MAX_BYTES = 256 * 1024
MAX_KEY_BYTES = 1024
SKIP_PREFIX = "buzzwatch.skip="


class Task:
    """One assigned mentions partition: its engine and where its input stands."""

    def __init__(self, partition: int, engine: Engine, checkpoint: checkpoints.Checkpoint) -> None:
        self.partition = partition
        self.engine = engine
        self.offset = checkpoint.offset  # the next mention offset to read
        self.meta = checkpoint.meta  # the last committed `engine` record
        self.discarded: set[str] = set()  # brands of unusable state, to delete from the topic
        self.last_record = time.monotonic()  # when a record last came from the partition
        self.skips: set[int] = set()  # offsets not to read (`buzzwatch skip`)


def skip_metadata(offsets: Iterable[int]) -> str:
    """The committed offset's metadata that tells the detector not to read `offsets`."""
    chosen = sorted(offsets)
    return SKIP_PREFIX + ",".join(map(str, chosen)) if chosen else ""


def skipped_offsets(metadata: str | None) -> set[int]:
    """The offsets `skip_metadata` names (none for any other metadata)."""
    if not metadata or not metadata.startswith(SKIP_PREFIX):
        return set()
    return {int(part) for part in metadata[len(SKIP_PREFIX) :].split(",") if part.isdecimal()}


def _place(record: Any) -> bytes:
    """Where a record is: `topic/partition/offset`."""
    return f"{record.topic}/{record.partition}/{record.offset}".encode()


class PartitionsLost(KafkaError):  # type: ignore[misc]
    """This detector is no longer a member of the group: its open work must not be committed."""


class _Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hands the detector the partitions it gains and loses."""

    def __init__(self, detector: Detector) -> None:
        self._detector = detector

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self._detector.metrics.rebalances.labels("revoked").inc()
        self._detector.commit()  # the next owner starts from this state
        self._detector.drop(tp.partition for tp in revoked)

    def on_partitions_lost(self, lost: Iterable[TopicPartition]) -> None:
        """Evicted from the group: another member may own these partitions already. Nothing of
        the open transaction may be committed; the session ends (kafka-python raises this
        as a KafkaError from `poll`) and a new one restores from the last commit."""
        self._detector.metrics.rebalances.labels("lost").inc()
        raise PartitionsLost(f"partitions lost (evicted from the group): {sorted(lost)}")

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self._detector.metrics.rebalances.labels("assigned").inc()
        self._detector.assigned(assigned)


class Detector:
    """Consumes mentions, runs one engine per partition and publishes alerts exactly once."""

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: DetectionSettings,
        metrics: DetectorMetrics,
        scorer: SentimentRouter | None = None,
        statements: HoldingStatements | None = None,
        handles: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """`statements` and `handles` go to each partition's engine (see `Engine`)."""
        self.kafka = kafka
        self.settings = settings
        self.metrics = metrics
        self.scorer = scorer or SentimentRouter.for_settings(settings)
        self.statements = statements
        self.handles = handles
        # Without an instance id, one transactional id per process, as Kafka Streams does:
        # KIP-447 fences a stale owner through the group generation, and a session restarted
        # in this process aborts its predecessor's open transaction at once.
        instance = kafka.instance_id or str(uuid.uuid4())
        self.transactional_id = f"{kafka.group_id}-{instance}"
        self.tasks: dict[int, Task] = {}
        self.partitions = 0  # of the mentions topic: where each brand's home is
        self.watermark = Watermark(settings.allowed_lateness_seconds)
        self._producer: KafkaProducer | None = None
        self._consumer: KafkaConsumer | None = None
        self._unrestored: set[TopicPartition] = set()
        self._in_transaction = False
        self._pending: list[Any] = []

    def run(self, stop: threading.Event) -> None:
        """Process batches until `stop` is set; a failed session is retried with backoff."""
        delay = RETRY_FIRST_SECONDS
        while not stop.is_set():
            try:
                self._session(stop)
            except (KafkaError, TopicError, OSError) as error:
                self.metrics.restarts.inc()
                log.warning("session failed (%r); a new one starts in %.0f s", error, delay)
                stop.wait(delay)
                delay = min(2 * delay, RETRY_MAX_SECONDS)
            else:
                return

    def _session(self, stop: threading.Event) -> None:
        options = self.kafka.client_options()
        self.watermark = Watermark(self.settings.allowed_lateness_seconds)
        self._pending.clear()
        self._unrestored.clear()
        self._in_transaction = False
        producer = KafkaProducer(
            **options,
            transactional_id=self.transactional_id,
            transaction_timeout_ms=self.kafka.transaction_timeout_ms,
            compression_type="gzip",
            linger_ms=5,
            max_request_size=checkpoints.MAX_STATE_RECORD_BYTES,
        )
        consumer: KafkaConsumer | None = None
        try:
            producer.init_transactions()
            consumer = KafkaConsumer(
                **options,
                group_id=self.kafka.group_id,
                group_instance_id=self.kafka.instance_id,
                session_timeout_ms=self.kafka.session_timeout_ms,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                max_poll_records=self.kafka.max_poll_records,
            )
            partitions = consumer.partitions_for_topic(self.kafka.mentions_topic)
            if not partitions:
                raise TopicError(f"mentions topic {self.kafka.mentions_topic} not found")
            checkpoints.ensure_state_topic(self.kafka, len(partitions))
            self.partitions = len(partitions)
            self._producer, self._consumer = producer, consumer
            consumer.subscribe([self.kafka.mentions_topic], listener=_Assignments(self))
            log.info("detecting on %s as %s", self.kafka.mentions_topic, self.transactional_id)
            last_commit = time.monotonic()
            while not stop.is_set():
                self._cycle(consumer)
                if time.monotonic() - last_commit >= self.kafka.commit_interval_ms / 1000:
                    self.commit()
                    last_commit = time.monotonic()
            self.commit()
        finally:
            # nothing is committed from here on: after an error the open transaction is
            # left to be aborted, by this process's next session or by the broker's timeout
            self._producer = self._consumer = None
            self.drop(list(self.tasks))
            if consumer is not None:
                consumer.close(autocommit=False)
            producer.close(timeout=SEND_TIMEOUT_SECONDS)

    def _cycle(self, consumer: KafkaConsumer) -> None:
        """One poll: process the records, then move every task's event time on."""
        batch = consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
        if self._unrestored:
            self.adopt(tp.partition for tp in self._unrestored)
            for tp in self._unrestored:
                self._seek(consumer, tp, self.tasks[tp.partition])
            consumer.resume(*self._unrestored)
            self._unrestored.clear()
        started = time.perf_counter()
        for tp, records in batch.items():
            task = self.tasks.get(tp.partition)
            # Fetched before its state was restored, or too far ahead of the slowest partition
            # (a consumer drains one partition's fetch before the next): read it again later.
            # (Pausing would do, but kafka-python 3.0 may never fetch a resumed partition again.)
            if task is None or self._ahead(tp.partition):
                consumer.seek(tp, records[0].offset)
                continue
            for record in records:
                if record.offset in task.skips:
                    task.skips.discard(record.offset)
                    self.metrics.skipped.inc()
                    log.warning("skipped %s/%d/%d as asked", tp.topic, tp.partition, record.offset)
                    continue
                self._process(task, record)
            task.offset = records[-1].offset + 1
            task.last_record = time.monotonic()
        processed = time.perf_counter()
        self._track_positions(consumer)
        watermark = self.watermark.current()
        for task in self.tasks.values():
            self._publish_alerts(task.engine.advance(watermark))
        if watermark is not None:
            self.metrics.record_watermark(watermark)
        if batch:
            self.metrics.scoring_seconds.observe(processed - started)
            self.metrics.batch_seconds.observe(time.perf_counter() - started)

    def _seek(self, consumer: KafkaConsumer, tp: TopicPartition, task: Task) -> None:
        """Start a restored partition at its state's own offset (input and state agree there),
        or at the group's committed offset if that is further on: records skipped on purpose
        (`kafka-consumer-groups --reset-offsets`) stay skipped. The offsets `buzzwatch skip`
        wrote in the commit's metadata are not read."""
        committed = consumer.committed(tp, metadata=True)
        offset = None if committed is None else committed.offset
        if committed is not None:
            task.skips = skipped_offsets(committed.metadata)
        if task.offset is not None and offset is not None and offset > task.offset:
            log.warning(
                "partition %d: the group's offset %d is past the state's %d: "
                "records %d to %d skipped",
                tp.partition,
                offset,
                task.offset,
                task.offset,
                offset - 1,
            )
        offsets = [o for o in (task.offset, offset) if o is not None]
        if offsets:
            task.offset = max(offsets)
            consumer.seek(tp, task.offset)
        if task.skips:
            log.warning("partition %d: offsets %s will be skipped", tp.partition, task.skips)

    def _process(self, task: Task, record: Any) -> None:
        decoded = decode_record(record.value or b"")
        if isinstance(decoded, Invalid):
            self.metrics.rejected.labels(decoded.kind).inc()
            self._dead_letter(record, decoded.kind, decoded.reason)
            return
        if self._from_the_future(decoded):
            self.metrics.rejected.labels(Admission.AHEAD.value).inc()
            self._dead_letter(record, Admission.AHEAD.value, FUTURE_REASON)
            return
        home = task
        if decoded.brand is not None:
            partition = home_partition(decoded.brand, self.partitions)
            if partition != task.partition:
                if partition not in self.tasks:
                    self._rekey(record, decoded.brand, partition)
                    return
                home = self.tasks[partition]
        scored = home.engine.add(decoded)
        self.metrics.record_mention(scored)
        if scored.admission.rejected:
            self._dead_letter(record, scored.admission.value, REASONS[scored.admission])
        elif scored.admission is Admission.ACCEPTED:
            self.watermark.observe(task.partition, int(decoded.created_at.timestamp()))
            self._publish_alerts(home.engine.advance(self.watermark.current()))

    def _from_the_future(self, mention: Mention) -> bool:
        """Dated after now + `max_ahead_hours`: no live post is, and the first such record
        would otherwise carry event time years ahead (the engine's own rule starts later)."""
        ahead = self.settings.max_ahead_hours * 3600
        return mention.created_at.timestamp() > time.time() + ahead

    def _track_positions(self, consumer: KafkaConsumer) -> None:
        """Record each partition's lag, and find the partitions that no longer hold time back.

        The high watermark of the last fetch lags behind a producer that is writing: a
        partition read to it may have much more to read. So a partition is idle only once
        nothing came from it for `idle_after_ms` and the broker says, when asked now, that it
        has been read to its end (the last stable offset, as the consumer reads committed).
        """
        quiet = []
        now = time.monotonic()
        for tp in consumer.assignment():
            task = self.tasks.get(tp.partition)
            end = consumer.highwater(tp)
            if end is not None:
                lag = max(0, end - consumer.position(tp))
                self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
            if task is None or self.watermark.is_idle(tp.partition):
                continue
            if (now - task.last_record) * 1000 >= self.kafka.idle_after_ms:
                quiet.append(tp)
        if not quiet:
            return
        ends = consumer.end_offsets(quiet)
        for tp in quiet:
            if consumer.position(tp) >= ends[tp]:
                self.watermark.set_idle(tp.partition)

    def _ahead(self, partition: int) -> bool:
        """Whether a partition is more than `read_ahead_seconds` ahead of event time (or event
        time is not known yet): its records wait, read again later, rather than open in
        memory."""
        watermark, progress = self.watermark.current(), self.watermark.progress(partition)
        if progress is None:
            return False
        reach = self.kafka.read_ahead_seconds + self.settings.allowed_lateness_seconds
        return watermark is None or progress - watermark > reach

    def commit(self) -> None:
        """Write what changed since the last commit (state, offsets) in the open transaction,
        with the alerts and dead letters already in it, and commit it."""
        producer, consumer = self._producer, self._consumer
        if producer is None or consumer is None:
            return
        offsets = {}
        written: list[tuple[Task, dict[str, Any]]] = []
        for task in self.tasks.values():
            changed = task.engine.take_changed()
            progress = self.watermark.progress(task.partition)
            meta = checkpoints.engine_record(task.engine, progress, task.offset)
            if task.offset is not None:  # every transaction is fenced by the group (KIP-447)
                tp = TopicPartition(self.kafka.mentions_topic, task.partition)
                pending = skip_metadata(o for o in task.skips if o >= task.offset)
                offsets[tp] = OffsetAndMetadata(task.offset, pending, -1)
            if not changed and meta == task.meta:
                continue
            records = [
                *checkpoints.tombstones(task.discarded - changed),
                *checkpoints.brand_records(task.engine, changed),
                (checkpoints.ENGINE_KEY, checkpoints.encode(meta)),
            ]
            task.discarded.clear()
            for key, value in records:
                self._send(self.kafka.state_topic, key, value, partition=task.partition)
                self.metrics.state_written_bytes.inc(len(key) + len(value or b""))
            written.append((task, meta))
        if not self._in_transaction:
            return
        self._await_acks(producer)
        member = consumer.group_metadata()
        if member.generation_id < 0 or not member.member_id:
            # a transactional offset commit without a generation is not fenced by the broker
            raise PartitionsLost("not a member of the group: nothing may be committed")
        if offsets:
            producer.send_offsets_to_transaction(offsets, member)
        producer.commit_transaction()
        self._in_transaction = False
        self.metrics.commits.inc()
        for task, meta in written:
            task.meta = meta

    def assigned(self, partitions: Iterable[TopicPartition]) -> None:
        """Note newly assigned partitions, paused until the main loop restores their state.

        Restoring inside the rebalance callback would block the consumer's event loop and
        its heartbeats for as long as the state takes to read.
        """
        chosen = set(partitions)
        self._unrestored |= chosen
        if self._consumer is not None and chosen:
            self._consumer.pause(*chosen)

    def adopt(self, partitions: Iterable[int]) -> None:
        """Take on assigned partitions: restore each one's engine from its checkpoint."""
        chosen = sorted(partitions)
        if not chosen:
            return
        started = time.monotonic()
        restored = checkpoints.load(self.kafka, chosen)
        seconds = time.monotonic() - started
        for partition, checkpoint in restored.items():
            listener = self.metrics.record_bucket
            fresh = Engine(self.settings, self.scorer, listener, self.statements, self.handles)
            engine = checkpoints.engine_from(checkpoint, fresh)
            task = self.tasks[partition] = Task(partition, engine, checkpoint)
            task.discarded = set(checkpoint.brands) - set(engine.brands)
            self.watermark.expect(partition)
            if checkpoint.progress is not None:
                self.watermark.observe(partition, checkpoint.progress)
            self.metrics.record_restore(partition, checkpoint.size, len(engine.brands))
            for brand, kind, severity in engine.active_alerts():
                self.metrics.set_firing(brand, kind, severity, True)
            log.info(
                "partition %d: %d brands restored (%d bytes) at offset %s",
                partition,
                len(engine.brands),
                checkpoint.size,
                checkpoint.offset,
            )
        for partition in chosen:
            self._send_home(self.tasks[partition])
        self.metrics.restore_seconds.observe(seconds)
        log.info("state of partitions %s read in %.2f s", chosen, seconds)

    def _send_home(self, task: Task) -> None:
        """Move the restored brands whose home is another partition (state a detector that
        counted brands where they arrived wrote) to their home's engine, if this detector owns
        it and it has none of its own; the copies left here are deleted from the topic."""
        for brand in sorted(task.engine.brands):
            partition = home_partition(brand, self.partitions)
            if partition == task.partition:
                continue
            home = self.tasks.get(partition)
            state = task.engine.release(brand)
            task.discarded.add(brand)
            if home is not None and brand not in home.engine.brands:
                home.engine.adopt(state)
                log.info(
                    "brand %s: state moved from partition %d to its home %d",
                    brand,
                    task.partition,
                    partition,
                )
            else:
                log.warning(
                    "brand %s: state on partition %d dropped (home %d)",
                    brand,
                    task.partition,
                    partition,
                )

    def drop(self, partitions: Iterable[int]) -> None:
        """Let go of revoked partitions (their state is in the last committed checkpoint)."""
        for partition in list(partitions):
            self._unrestored.discard(TopicPartition(self.kafka.mentions_topic, partition))
            task = self.tasks.pop(partition, None)
            self.watermark.forget(partition)
            self.metrics.forget_partition(self.kafka.mentions_topic, partition)
            if task is not None:
                for brand, kind, severity in task.engine.active_alerts():
                    self.metrics.set_firing(brand, kind, severity, False)

    def _publish_alerts(self, events: list[AlertEvent]) -> None:
        for event in events:
            self._send(self.kafka.alerts_topic, event.brand.encode(), event.to_json().encode())
            self.metrics.record_alert(event)
            log.info("alert %s %s %s %s", event.state, event.brand, event.kind, event.at)

    def _rekey(self, record: Any, brand: str, partition: int) -> None:
        """Produce a mention read off its brand's home partition to that partition."""
        headers = [*(record.headers or []), ("buzzwatch.rekeyed_from", _place(record))]
        self._send(
            self.kafka.mentions_topic,
            brand.encode(),
            record.value,
            headers=headers,
            partition=partition,
            timestamp_ms=record.timestamp,
        )
        self.metrics.rekeyed.inc()

    def _dead_letter(self, record: Any, kind: str, reason: str) -> None:
        """Send a record to the dead-letter topic with why, and where it is in the input.

        A value over `DEAD_LETTER_MAX_BYTES` (one the broker took compressed, say) is cut to
        that size, with its full size in a header: the whole of it stays in the input topic
        at the offset given, and a record the producer or the broker would refuse must not
        stop the detector.
        """
        headers = [
            ("buzzwatch.reason", reason.encode()),
            ("buzzwatch.reason_kind", kind.encode()),
            ("buzzwatch.source", _place(record)),
        ]
        key, value = record.key, record.value
        size = len(key or b"") + len(value or b"")
        if size > DEAD_LETTER_MAX_BYTES:
            headers.append(("buzzwatch.truncated_from_bytes", str(size).encode()))
            key = (key or b"")[:MAX_KEY_BYTES] or None
            value = (value or b"")[:DEAD_LETTER_MAX_BYTES]
        self._send(self.kafka.dead_letter_topic, key, value, headers=headers)
        self.metrics.dead_letters.labels(kind).inc()
        log.warning("dead letter %s/%s: %s", record.partition, record.offset, reason)

    def _send(self, topic: str, key: bytes | None, value: bytes | None, **options: Any) -> None:
        """Produce within the batch's transaction, starting it on the first record; `options`
        are `KafkaProducer.send`'s (headers, partition, timestamp_ms)."""
        producer = self._producer
        assert producer is not None, "sending outside a session"
        if not self._in_transaction:
            producer.begin_transaction()
            self._in_transaction = True
        self._pending.append(producer.send(topic, key=key, value=value, **options))

    def _await_acks(self, producer: KafkaProducer) -> None:
        """Block until every record sent in this transaction is acknowledged (or raise)."""
        producer.flush(timeout=SEND_TIMEOUT_SECONDS)
        for future in self._pending:
            future.get(timeout=SEND_TIMEOUT_SECONDS)
        self._pending.clear()
