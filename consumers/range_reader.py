"""Reading a topic's records over a time range, for `buzzwatch replay --kafka-topic`.

The reader is a bounded, read-only consumer. It plans, for every partition, the offsets that
hold the records whose Kafka timestamp is in [start, end) (`offsets_for_times`, or the
partition's beginning and high watermark), then reads each partition with a consumer of its
own, assigned by hand and seeked to the planned start, up to the planned end offset, and stops
by itself. It has no consumer group at all (`group_id=None`): it never talks to a group
coordinator, cannot commit offsets (auto-commit is off and `commit` is never called) and so
leaves the detector's group, and every other, untouched.

Records come out merged across partitions in a deterministic order: by event time, then
partition, then offset (each partition is read in offset order, and a partition is polled
only when the merge needs its next record, so memory stays bounded by one fetch per
partition). The range is of event time, the mentions' `created_at`. Every buzzwatch producer
stamps a record with its mention's `created_at`, so the plan can use the broker's time index;
a topic other producers wrote carries send times instead. The reader finds out by sampling
the first and last record of each partition, and then scans every partition whole and picks
the records by their `created_at`.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import OffsetOutOfRangeError

from pipeline.models import Invalid, Mention
from pipeline.records import decode_record

POLL_TIMEOUT_MS = 500
DEFAULT_IDLE_TIMEOUT_SECONDS = 60.0
REQUEST_TIMEOUT_MS = 30_000
STAMP_TOLERANCE_MS = 1000  # a record stamped this close to its created_at is event-stamped
SAMPLE_TIMEOUT_SECONDS = 10.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ProgressCallback = Callable[[int], object]


class RangeReadError(RuntimeError):
    """The topic is missing, or a partition made no progress within the time limit."""


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """The offsets of one partition that the reader scans: [start, end)."""

    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass
class RangeStats:
    """What a read went through: offsets scanned, records outside the range."""

    scanned: int = 0
    outside: int = 0
    partitions: list[PartitionRange] = field(default_factory=list)
    event_stamped: bool = True  # records stamped with their created_at: the plan used them


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (a naive time is taken as UTC, like mentions' times)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


class TopicRangeReader:
    """A topic's records with timestamps in [start, end), as (label, record) pairs.

    `start`/`end` of None mean the beginning of each partition / its high watermark at the
    time the reader was opened (records produced later are not read). `grace_seconds` widens
    the scan past `end`: a partition's scan ends at its first record stamped at least that
    much after `end`, so records up to that much out of timestamp order are still found.
    Records outside [start, end) are counted and skipped, never yielded. The read stops on
    its own once every partition reached its planned end offset; a partition that makes no
    progress for `idle_timeout` seconds raises `RangeReadError`.

    Use it as a context manager; `total` (offsets to scan) is known once it is open.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        grace_seconds: float = 0.0,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_SECONDS,
        on_progress: ProgressCallback | None = None,
        consumer_config: dict[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self.start_ms = None if start is None else epoch_ms(start)
        self.end_ms = None if end is None else epoch_ms(end)
        if self.start_ms is not None and self.end_ms is not None and self.end_ms <= self.start_ms:
            raise ValueError("the end of the range must be after its start")
        self.grace_ms = int(grace_seconds * 1000)
        self.idle_timeout = idle_timeout
        self.on_progress = on_progress
        self.stats = RangeStats()
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "group_id": None,  # no group: no coordinator, no committed offsets
            "client_id": "buzzwatch-replay",
            "enable_auto_commit": False,
            "auto_offset_reset": "none",  # records deleted under us: an error, not a skip
            "request_timeout_ms": REQUEST_TIMEOUT_MS,
            **(consumer_config or {}),
        }
        self._consumers: list[Any] = []
        self._opened = False

    @property
    def total(self) -> int:
        """Offsets the read scans (records in the range, and out-of-order ones around it)."""
        return sum(part.size for part in self.stats.partitions)

    def __enter__(self) -> TopicRangeReader:
        try:
            planner = self._consumer()
            self.stats.partitions = self._plan(planner)
            self._close(planner)
        except BaseException:
            self.close()
            raise
        self._opened = True
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every consumer still open (they never commit)."""
        while self._consumers:
            self._close(self._consumers[-1])

    def _consumer(self) -> Any:
        consumer = KafkaConsumer(**self._config)
        self._consumers.append(consumer)
        return consumer

    def _close(self, consumer: Any) -> None:
        if consumer in self._consumers:
            self._consumers.remove(consumer)
            consumer.close(autocommit=False)

    def _plan(self, consumer: Any) -> list[PartitionRange]:
        partitions = consumer.partitions_for_topic(self.topic)
        if not partitions:
            raise RangeReadError(f"topic {self.topic!r} not found")
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        low = consumer.beginning_offsets(tps)
        high = consumer.end_offsets(tps)
        if self.start_ms is not None or self.end_ms is not None:
            self.stats.event_stamped = self._event_stamped(consumer, tps, low, high)
        if not self.stats.event_stamped:  # every partition whole, picked by created_at
            return [PartitionRange(tp.partition, low[tp], high[tp]) for tp in tps]
        firsts = dict(low) if self.start_ms is None else _offsets_at(consumer, tps, self.start_ms)
        lasts = (
            {} if self.end_ms is None else _offsets_at(consumer, tps, self.end_ms + self.grace_ms)
        )
        plan = []
        for tp in tps:
            end = min(high[tp], lasts.get(tp, high[tp]))
            # no record at or after `start`: nothing to read there
            start = max(low[tp], firsts.get(tp, end))
            plan.append(PartitionRange(tp.partition, min(start, end), end))
        return plan

    def _event_stamped(
        self, consumer: Any, tps: list[Any], low: dict[Any, int], high: dict[Any, int]
    ) -> bool:
        """Whether the first and last record of every partition are stamped with their
        mention's `created_at` (records that are not mentions tell nothing)."""
        for tp in tps:
            for offset in {low[tp], high[tp] - 1} if high[tp] > low[tp] else ():
                record = _record_at(consumer, tp, offset)
                if record is None:
                    continue
                decoded = decode_record(record.value or b"")
                if isinstance(decoded, Mention):
                    created = epoch_ms(decoded.created_at)
                    if abs(record.timestamp - created) > STAMP_TOLERANCE_MS:
                        return False
        return True

    def __iter__(self) -> Iterator[tuple[str, Mention | Invalid]]:
        """(`partition:offset`, decoded record), merged by (event time, partition, offset)."""
        if not self._opened:
            raise RuntimeError("open the reader (with ...) before iterating")
        streams = [self._partition(part) for part in self.stats.partitions if part.size > 0]
        for _at, partition, offset, decoded in heapq.merge(*streams):
            yield f"{partition}:{offset}", decoded

    def _in_range(self, timestamp: int | None) -> bool:
        if timestamp is None or timestamp < 0:
            return False
        if self.start_ms is not None and timestamp < self.start_ms:
            return False
        return self.end_ms is None or timestamp < self.end_ms

    def _partition(self, part: PartitionRange) -> Iterator[tuple[int, int, int, Mention | Invalid]]:
        """One partition's records in the range, in offset order, polled on demand, as (event
        time, partition, offset, decoded record): the record's timestamp stands for its
        event time when the records are event-stamped, else its `created_at` (or, for a
        record that is not a mention, its timestamp)."""
        consumer = self._consumer()
        tp = TopicPartition(self.topic, part.partition)
        consumer.assign([tp])
        consumer.seek(tp, part.start)
        position = part.start
        last_progress = time.monotonic()
        try:
            while position < part.end:
                try:
                    records = consumer.poll(timeout_ms=POLL_TIMEOUT_MS).get(tp, [])
                except OffsetOutOfRangeError as error:
                    raise RangeReadError(
                        f"partition {part.partition}: offset {position} is no longer on the "
                        "broker (deleted by retention while reading?)"
                    ) from error
                new_position = min(consumer.position(tp), part.end)
                if new_position > position:
                    self._progress(new_position - position)
                    position = new_position
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > self.idle_timeout:
                    raise RangeReadError(
                        f"partition {part.partition}: no progress for {self.idle_timeout:g} s "
                        f"at offset {position} (reading up to {part.end})"
                    )
                for record in records:
                    if record.offset >= part.end:
                        break
                    decoded = decode_record(record.value or b"")
                    at = record.timestamp
                    if not self.stats.event_stamped and isinstance(decoded, Mention):
                        at = epoch_ms(decoded.created_at)
                    if self._in_range(at):
                        yield at, record.partition, record.offset, decoded
                    else:
                        self.stats.outside += 1
        finally:
            self._close(consumer)

    def _progress(self, offsets: int) -> None:
        self.stats.scanned += offsets
        if self.on_progress is not None:
            self.on_progress(offsets)


def _offsets_at(consumer: Any, tps: list[Any], moment_ms: int) -> dict[Any, int]:
    """First offset stamped at or after `moment_ms`, per partition (absent: none there)."""
    found = consumer.offsets_for_times({tp: moment_ms for tp in tps})
    return {tp: found[tp].offset for tp in tps if found.get(tp) is not None}


def _record_at(consumer: Any, tp: Any, offset: int) -> Any | None:
    """The record at `offset` of a partition (None if it is not read in time)."""
    consumer.assign([tp])
    consumer.seek(tp, offset)
    deadline = time.monotonic() + SAMPLE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for record in consumer.poll(timeout_ms=POLL_TIMEOUT_MS, max_records=1).get(tp, []):
            return record
    return None
