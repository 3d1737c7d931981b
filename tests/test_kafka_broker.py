"""End-to-end checks of the real Kafka test broker (see tests/broker/kafka_broker.py)."""

from __future__ import annotations

import re
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.broker.kafka_broker import KAFKA_VERSION, POM_PATH, create_topic

MESSAGES = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(6)}
CONSUME_TIMEOUT_S = 60.0


def test_pom_kafka_version_matches_constant() -> None:
    """pom.xml's kafka.version and KAFKA_VERSION (docker image tag) must not drift apart."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM_PATH.read_text())
    assert match is not None, "kafka.version property missing from pom.xml"
    assert match.group(1) == KAFKA_VERSION


def test_produce_and_consume_in_group(kafka_bootstrap: str) -> None:
    """Keyed messages produced with acks=all come back through a consumer group."""
    topic = f"broker-smoke-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic, partitions=3)

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for key, value in MESSAGES.items():
            producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close(timeout=10)

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    received: dict[bytes, bytes] = {}
    partitions: set[int] = set()
    try:
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        for _ in range(int(CONSUME_TIMEOUT_S)):
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    received[record.key] = record.value
                    partitions.add(record.partition)
            if len(received) >= len(MESSAGES) or time.monotonic() >= deadline:
                break
        consumer.commit()
        committed = sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in range(3))
    finally:
        consumer.close()

    assert received == MESSAGES
    assert committed == len(MESSAGES), "group offsets should be committed"
    assert len(partitions) > 1, "keys should spread over the 3 partitions"
