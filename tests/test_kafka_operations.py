"""What an operator does to Kafka with buzzwatch alone: make the topics, skip a record, and
what the detector does with records no producer should send."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from consumers.detector import DEAD_LETTER_MAX_BYTES
from consumers.topics import home_partition, topic_config
from tests.helpers import buzzwatch, jsonl, produce, read_topic, stream
from tests.servers import free_port

PARTITIONS = 3
WAIT_SECONDS = 90.0


def names(tmp_path: Path, bootstrap: str) -> tuple[Path, dict[str, str]]:
    """A configuration naming topics and a group of their own."""
    suffix = uuid.uuid4().hex[:8]
    topics = {
        "mentions_topic": f"mentions-{suffix}",
        "alerts_topic": f"alerts-{suffix}",
        "dead_letter_topic": f"dlq-{suffix}",
        "group_id": f"detector-{suffix}",
    }
    config = tmp_path / "buzzwatch.toml"
    kafka = "\n".join(f'{key} = "{value}"' for key, value in topics.items())
    config.write_text(
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\n{kafka}\n\n'
        f'[notify]\ndead_letter_topic = "adlq-{suffix}"\ndeliveries_topic = "receipts-{suffix}"\n'
    )
    return config, topics


def test_topics_create_makes_every_topic_with_its_settings(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    config, topics = names(tmp_path, kafka_bootstrap)
    made = buzzwatch("topics", "create", "--config", str(config), "--partitions", "4").stdout
    state = f"{topics['group_id']}.state"
    assert made.count(": created,") == 6, made
    client = {"bootstrap_servers": kafka_bootstrap}
    consumer = KafkaConsumer(**client, group_id=None)
    try:
        assert len(consumer.partitions_for_topic(topics["mentions_topic"]) or ()) == 4
        assert len(consumer.partitions_for_topic(state) or ()) == 4
    finally:
        consumer.close()
    assert topic_config(client, state, "cleanup.policy") == "compact"
    assert topic_config(client, topics["mentions_topic"], "retention.ms") == "-1"
    again = buzzwatch("topics", "create", "--config", str(config), "--partitions", "4").stdout
    assert again.count(": exists,") == 6, again


@contextmanager
def detector(config: Path, log: Path) -> Iterator[int]:
    """A `buzzwatch detect` running on the configuration; its metrics port."""
    port = free_port()
    command = [sys.executable, "-m", "buzzwatch", "detect", "--config", str(config)]
    command += ["--metrics-port", str(port), "--metrics-address", "127.0.0.1"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield port
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


def wait_committed(bootstrap: str, topics: dict[str, str], want: int) -> None:
    """Until the group has committed `want` offsets of the mentions topic in all."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=topics["group_id"])
    tps = [TopicPartition(topics["mentions_topic"], p) for p in range(PARTITIONS)]
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while time.monotonic() < deadline:
            if sum(consumer.committed(tp) or 0 for tp in tps) >= want:
                return
            time.sleep(0.3)
    finally:
        consumer.close(autocommit=False)
    raise AssertionError(f"the group did not commit {want} offsets in {WAIT_SECONDS:.0f} s")


def test_poison_records_are_dead_lettered_and_a_skipped_record_is_not_read(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    config, topics = names(tmp_path, kafka_bootstrap)
    buzzwatch("topics", "create", "--config", str(config), "--partitions", str(PARTITIONS))
    source = tmp_path / "mentions.jsonl"
    source.write_text(jsonl(list(stream(120, 2.0, "acme"))), encoding="utf-8")
    produce(source, topics["mentions_topic"], kafka_bootstrap)
    # a year-9999 and a year-1 date that overflow in UTC, and 2 MB that only compressed
    # fits the broker's limit: each would stop the detector, or stall it, for good
    poison = [
        b'{"id":"p1","created_at":"9999-12-31T23:00:00-05:00","text":"x","brand":"acme"}',
        b'{"id":"p2","created_at":"0001-01-01T00:30:00+01:00","text":"x","brand":"acme"}',
        json.dumps({"id": "p3", "text": "spam " * 400_000}).encode(),
    ]
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, compression_type="gzip", max_request_size=4 << 20
    )
    for value in poison:
        producer.send(topics["mentions_topic"], key=b"acme", value=value)
    producer.flush()
    total = sum_ends(kafka_bootstrap, topics["mentions_topic"])
    log = tmp_path / "detect.log"
    with detector(config, log) as port:
        wait_committed(kafka_bootstrap, topics, total)
        before = metrics(port)
    dead = read_topic(kafka_bootstrap, topics["dead_letter_topic"], 3, patience=1)
    reasons = {dict(r.headers)["buzzwatch.reason"].decode() for r in dead}
    assert len(dead) == 3 and any("1970-01-01 .. 2999-12-31" in r for r in reasons), reasons
    (big,) = [r for r in dead if "buzzwatch.truncated_from_bytes" in dict(r.headers)]
    assert len(big.value) == DEAD_LETTER_MAX_BYTES
    assert int(dict(big.headers)["buzzwatch.truncated_from_bytes"]) > 2_000_000
    assert dict(big.headers)["buzzwatch.source"].decode().startswith(topics["mentions_topic"])
    assert 'buzzwatch_dead_letters_total{reason="invalid_record"} 3.0' in before

    # an operator skips one record, written while the detectors are down
    skipped, kept = (
        json.dumps({"id": i, "created_at": "2026-03-02T02:10:00Z", "text": "hi", "brand": b})
        for i, b in (("s1", "skipme"), ("k1", "keepme"))
    )
    partition = home_partition("skipme", PARTITIONS)
    plain = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    offset = plain.send(topics["mentions_topic"], skipped.encode(), partition=partition)
    at = offset.get(timeout=30).offset
    plain.send(topics["mentions_topic"], kept.encode(), partition=partition)
    plain.close()
    member = KafkaConsumer(
        topics["mentions_topic"], bootstrap_servers=kafka_bootstrap, group_id=topics["group_id"]
    )
    member.poll(timeout_ms=5000)  # a member of the group: the skip must be refused
    skip = ["skip", str(partition), str(at), "--config", str(config)]
    refused = subprocess.run(
        [sys.executable, "-m", "buzzwatch", *skip],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    member.close(autocommit=False)
    assert refused.returncode == 1 and "stop every detector" in refused.stderr, refused
    said = buzzwatch(*skip).stdout
    assert f"/{partition}/{at}" in said
    with detector(config, log) as port:
        wait_committed(kafka_bootstrap, topics, total + 2)
        after = metrics(port)
    assert "buzzwatch_records_skipped_total 1.0" in after
    assert 'brand="keepme"' in after and 'brand="skipme"' not in after
    assert "as asked" in log.read_text()


def sum_ends(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()
