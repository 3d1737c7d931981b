"""Kafka topic plumbing shared by the services: create what is missing, read to the end."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import TopicAlreadyExistsError, for_code
from kafka.partitioner.default import murmur2

log = logging.getLogger("buzzwatch.topics")

TOPIC_TIMEOUT_MS = 30_000
POLL_TIMEOUT_MS = 500


@lru_cache(maxsize=1 << 16)
def home_partition(brand: str, partitions: int) -> int:
    """The partition of a mention of `brand`: its key (the brand) hashed with murmur2, as the
    Java client's and kafka-python's default partitioners do, and every buzzwatch producer."""
    hashed: int = murmur2(brand.encode())
    return (hashed & 0x7FFFFFFF) % partitions


class TopicError(RuntimeError):
    """A topic is missing, unlike what it must be, or could not be read in time."""


def ensure_topics(client: dict[str, Any], specs: dict[str, dict[str, Any]]) -> None:
    """Create each topic of `specs` that is missing and wait until every one has leaders.

    A spec takes `KafkaAdminClient.create_topics`' keys (`num_partitions`, `configs`, ...);
    a topic that exists already is kept as it is.
    """
    admin = KafkaAdminClient(**client)
    try:
        result = admin.create_topics(specs, timeout_ms=TOPIC_TIMEOUT_MS, raise_errors=False)
        for topic in result["topics"]:
            error = for_code(topic["error_code"])
            if error is TopicAlreadyExistsError:
                continue
            if error.errno != 0:
                raise error(f"creating topic {topic['name']}: {topic['error_message']}")
            log.info("created topic %s", topic["name"])
        admin.wait_for_topics(list(specs), timeout_ms=TOPIC_TIMEOUT_MS)
    finally:
        admin.close()


def partition_counts(client: dict[str, Any], topics: Iterable[str]) -> dict[str, int]:
    """How many partitions each existing topic of `topics` has (missing ones are left out)."""
    consumer = KafkaConsumer(**client, group_id=None)
    try:
        found = {topic: len(consumer.partitions_for_topic(topic) or ()) for topic in topics}
    finally:
        consumer.close(autocommit=False)
    return {topic: count for topic, count in found.items() if count}


def topic_config(client: dict[str, Any], topic: str, key: str) -> str:
    """The value of one configuration key of a topic, as the broker reports it."""
    admin = KafkaAdminClient(**client)
    try:
        described = admin.describe_configs(
            [ConfigResource("TOPIC", topic, [key])], config_filter="all"
        )
        return str(described["topic"][topic][key]["value"])
    finally:
        admin.close()


def read_to_end(
    client: dict[str, Any],
    topic: str,
    partitions: Iterable[int] | None = None,
    timeout_seconds: float = 60.0,
    committed: bool = False,
) -> Iterator[ConsumerRecord]:
    """Every record of the partitions (all when None), from the beginning to their end.

    The end is taken when reading starts. With `committed`, only records of committed
    transactions are returned, and reading goes on until every transaction open at the start
    has ended: a commit the broker acknowledged but has not marked yet is not missed. Raises
    `TopicError` if the topic is missing or is not read within `timeout_seconds`.
    """
    isolation = "read_committed" if committed else "read_uncommitted"
    consumer = KafkaConsumer(
        **client, group_id=None, enable_auto_commit=False, isolation_level=isolation
    )
    try:
        if partitions is None:
            partitions = sorted(consumer.partitions_for_topic(topic) or ())
            if not partitions:
                raise TopicError(f"topic {topic} not found")
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = _log_ends(client, tps) if committed else consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_seconds
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TopicError(f"topic {topic} not read within {timeout_seconds:g} s")
            for records in consumer.poll(timeout_ms=POLL_TIMEOUT_MS).values():
                yield from records
    finally:
        consumer.close(autocommit=False)


def _log_ends(client: dict[str, Any], tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The partitions' high watermarks, open transactions included."""
    consumer = KafkaConsumer(**client, group_id=None, enable_auto_commit=False)
    try:
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close(autocommit=False)
