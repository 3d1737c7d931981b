"""The detector's checkpoints: its engines' state on a compacted Kafka topic.

The state topic has as many partitions as the mentions topic, and partition p holds the state
of the engine that consumes mentions partition p: one record per brand (key `brand:<name>`,
the brand's windows, baselines and alerts) and one for the engine itself (key `engine`: event
time closed so far, the partition's progress, the next mention offset). The detector writes
the changed records in the same Kafka transaction as the alerts they led to and the consumed
offsets, so the state read back is always the state as of the committed offset.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from consumers.settings import KafkaSettings
from consumers.topics import TopicError, ensure_topics, partition_counts, read_to_end
from pipeline.engine import Engine
from pipeline.migrations import migrated, shape_changes
from pipeline.settings import DetectionSettings

log = logging.getLogger("buzzwatch.checkpoints")

ENGINE_KEY = b"engine"
BRAND_PREFIX = b"brand:"
RESTORE_TIMEOUT_SECONDS = 120.0  # well within max_poll_interval_ms (300 s)
# Compacted, with segments rolled every 10 minutes so the cleaner can drop old versions:
# a restore reads one record per brand plus at most the recent, not yet compacted, ones.
STATE_TOPIC_CONFIGS = {
    "cleanup.policy": "compact",
    "segment.ms": "600000",
    "min.cleanable.dirty.ratio": "0.1",
    "max.message.bytes": str(8 << 20),  # a brand in a flood keeps many mentions open
}
MAX_STATE_RECORD_BYTES = 8 << 20


@dataclass
class Checkpoint:
    """One partition's latest state records, merged."""

    partition: int
    meta: dict[str, Any] | None = None  # the `engine` record
    brands: dict[str, dict[str, Any]] = field(default_factory=dict)
    size: int = 0  # bytes of the records read (all versions)

    @property
    def offset(self) -> int | None:
        """The next mention offset of the partition as of this state."""
        return None if self.meta is None else self.meta["offset"]

    @property
    def progress(self) -> int | None:
        """The largest event time seen on the partition."""
        return None if self.meta is None else self.meta["progress"]

    def snapshot(self) -> dict[str, Any] | None:
        """The engine snapshot the records add up to, or None for a partition without state."""
        if self.meta is None:
            return None
        return {**self.meta["engine"], "brands": self.brands}


def ensure_state_topic(kafka: KafkaSettings, partitions: int) -> None:
    """Create the compacted state topic with `partitions` partitions, or check the existing one.

    Its partitions must match the mentions topic's one to one: a different count is an error
    (the state of a brand would be looked for in the wrong partition).
    """
    client = kafka.client_options()
    spec = {"num_partitions": partitions, "configs": STATE_TOPIC_CONFIGS}
    ensure_topics(client, {kafka.state_topic: spec})
    found = partition_counts(client, [kafka.state_topic]).get(kafka.state_topic, 0)
    if found != partitions:
        raise TopicError(
            f"state topic {kafka.state_topic} has {found} partitions, the mentions topic "
            f"{kafka.mentions_topic} {partitions}: they must be equal (recreate the state "
            "topic, or name another with [kafka] state_topic)"
        )


def load(
    kafka: KafkaSettings,
    partitions: Iterable[int],
    timeout_seconds: float = RESTORE_TIMEOUT_SECONDS,
) -> dict[int, Checkpoint]:
    """Read the committed state of `partitions` from the state topic, latest record per key."""
    checkpoints = {p: Checkpoint(p) for p in partitions}
    records = read_to_end(
        kafka.client_options(), kafka.state_topic, sorted(checkpoints), timeout_seconds, True
    )
    for record in records:
        checkpoint = checkpoints[record.partition]
        key: bytes = record.key or b""
        value: bytes | None = record.value
        checkpoint.size += len(key) + len(value or b"")
        if key == ENGINE_KEY and value is not None:
            checkpoint.meta = json.loads(value)
        elif key.startswith(BRAND_PREFIX):
            brand = key[len(BRAND_PREFIX) :].decode()
            if value is None:
                checkpoint.brands.pop(brand, None)
            else:
                checkpoint.brands[brand] = json.loads(value)
    return checkpoints


def engine_record(engine: Engine, progress: int | None, offset: int | None) -> dict[str, Any]:
    """The value of the `engine` record: the engine without its brands, and the input's place."""
    return {"engine": engine.snapshot(()), "progress": progress, "offset": offset}


def brand_records(engine: Engine, brands: Iterable[str]) -> Iterator[tuple[bytes, bytes]]:
    """The records of `brands`' state."""
    for brand, state in engine.snapshot(set(brands))["brands"].items():
        yield BRAND_PREFIX + brand.encode(), encode(state)


def tombstones(brands: Iterable[str]) -> Iterator[tuple[bytes, None]]:
    """Records that delete `brands`' state (a compacted topic drops the key)."""
    for brand in sorted(brands):
        yield BRAND_PREFIX + brand.encode(), None


def engine_from(checkpoint: Checkpoint, fresh: Engine) -> Engine:
    """The engine the checkpoint holds, under `fresh`'s settings; `fresh` if there is none.

    State of an earlier release is migrated, and state written under other settings goes on
    under today's: an upgrade or a configuration change keeps every brand warm. Only what
    the state cannot carry over starts a new warm-up, with a warning: every brand when the
    buckets changed, or a brand whose rule windows changed.
    """
    snapshot = checkpoint.snapshot()
    if snapshot is None:
        return fresh
    try:
        snapshot = migrated(snapshot)
        stored = DetectionSettings.model_validate(snapshot["settings"])
        settings = fresh.settings
        reshaped = {
            brand: changes
            for brand in snapshot["brands"]
            if (changes := shape_changes(stored.for_brand(brand), settings.for_brand(brand)))
        }
        kept = {b: s for b, s in snapshot["brands"].items() if b not in reshaped}
        owned = fresh.handles.owned
        engine = Engine.restore(
            {**snapshot, "brands": kept},
            fresh.scorer,
            fresh.on_bucket,
            fresh.statements,
            owned,
            settings,
        )
    except ValueError as error:
        log.warning("partition %d: %s: starting a new warm-up", checkpoint.partition, error)
        return fresh
    for brand, changes in sorted(reshaped.items()):
        log.warning("brand %s: state written with other %s: a new warm-up", brand, changes)
    return engine


def encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
