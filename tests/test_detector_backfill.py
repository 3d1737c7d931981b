"""Input the detector did not choose: a backfill produced while it runs, producers with
another partitioner, the checkpoint of an earlier release. Each run must publish what the
embedded replay of the demo does."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from kafka import KafkaProducer

from consumers.checkpoints import STATE_TOPIC_CONFIGS
from consumers.topics import home_partition
from pipeline.models import Mention
from pipeline.records import open_input, read_jsonl
from pipeline.synthetic import SAMPLE_PATH
from tests.broker.kafka_broker import create_topic
from tests.test_detector_recovery import Stream, compare, reaped, stop, uninterrupted

__all__ = ["uninterrupted"]  # the fixture, for pytest

IDLE_SECONDS = 5.0  # [kafka] idle_after_ms's default
BLOCK = 1000  # records each producer sends in turn


def rejected(metrics: str, reason: str) -> float:
    found = re.search(
        rf'^buzzwatch_records_rejected_total{{reason="{reason}"}} (\S+)$', metrics, re.M
    )
    return float(found[1]) if found else 0.0


def test_a_backfill_produced_into_a_running_detector_gives_the_replay_alerts(
    kafka_bootstrap: str, tmp_path: Path, uninterrupted: list[dict[str, Any]]
) -> None:
    stream = Stream(kafka_bootstrap, tmp_path, filled=False)
    running: list[subprocess.Popen[bytes]] = []
    with reaped(running):
        detector = stream.launch(running)
        time.sleep(IDLE_SECONDS + 1)  # every partition read to its (empty) end: all idle
        stream.fill()
        published = stream.published(len(uninterrupted))
        metrics = stream.metrics()
        assert stop(detector) == 0, stream.logs()
    compare(stream, published, uninterrupted)
    assert rejected(metrics, "late") == 0


def test_producers_with_another_partitioner_split_no_brand(
    kafka_bootstrap: str, tmp_path: Path, uninterrupted: list[dict[str, Any]]
) -> None:
    """The demo in blocks, sent in turn by kafka-python (murmur2, as buzzwatch) and by
    librdkafka with its default partitioner (CRC32): every brand lands on two partitions."""
    stream = Stream(kafka_bootstrap, tmp_path, filled=False)
    ours = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    theirs = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    placed: dict[str, set[int]] = {}

    def delivered(error: Any, message: Any) -> None:
        assert error is None, error
        placed.setdefault(message.key().decode(), set()).add(message.partition())

    with open_input(SAMPLE_PATH) as source:
        for number, (_, mention) in enumerate(read_jsonl(source)):
            assert isinstance(mention, Mention)
            key = mention.brand.encode() if mention.brand else None
            value = mention.model_dump_json(exclude_none=True).encode()
            stamp = int(mention.created_at.timestamp() * 1000)
            if number // BLOCK % 2:
                theirs.produce(stream.mentions, value, key, timestamp=stamp, on_delivery=delivered)
                theirs.poll(0)
            else:
                ours.send(stream.mentions, key=key, value=value, timestamp_ms=stamp)
            if number % BLOCK == BLOCK - 1:  # each partition in event-time order
                ours.flush()
                assert theirs.flush(30) == 0
    ours.flush()
    ours.close()
    assert theirs.flush(30) == 0
    stream.total = sum(stream._ends().values())
    moved = {brand for brand, parts in placed.items() if parts != {home_partition(brand, 3)}}
    assert moved, placed  # librdkafka put some brand elsewhere than murmur2 does
    running: list[subprocess.Popen[bytes]] = []
    with reaped(running):
        detector = stream.launch(running)
        published = stream.published(len(uninterrupted))
        metrics = stream.metrics()
        assert stop(detector) == 0, stream.logs()
    compare(stream, published, uninterrupted)
    assert rejected(metrics, "late") == 0


PREVIOUS_RELEASE = Path(__file__).parent / "fixtures" / "previous-release" / "checkpoint.jsonl.gz"


def test_a_checkpoint_of_the_previous_release_keeps_every_brand_warm(
    kafka_bootstrap: str, tmp_path: Path, uninterrupted: list[dict[str, Any]]
) -> None:
    """The state and alerts that the previous release's detector (snapshot version 5) left
    when stopped two thirds into the demo; this release goes on from them, warm."""
    stream = Stream(kafka_bootstrap, tmp_path)  # the demo: the offsets the fixture names
    state = f"{stream.group}.state"
    create_topic(kafka_bootstrap, state, partitions=3, configs=STATE_TOPIC_CONFIGS)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    with gzip.open(PREVIOUS_RELEASE, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            producer.send(
                state if record["topic"] == "state" else stream.alerts,
                key=record["key"].encode(),
                value=record["value"].encode(),
                partition=record["partition"],
            )
    producer.flush()
    producer.close()
    running: list[subprocess.Popen[bytes]] = []
    with reaped(running):
        detector = stream.launch(running)
        published = stream.published(len(uninterrupted))
        assert stop(detector) == 0, stream.logs()
    # The previous release counted a slice's words in arrival order (this one in one order
    # whatever the arrival), so the usual vocabulary it learnt differs a little: the
    # emerging terms' usual shares, nothing else.
    compare(stream, without_terms(published), without_terms(uninterrupted))
    log = stream.runs[0].read_text()
    assert "partition 0: 3 brands restored" in log and "warm-up" not in log, log[-3000:]


def without_terms(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**e, "explanation": {**e["explanation"], "emerging_terms": None}}
        if e.get("explanation")
        else e
        for e in events
    ]
