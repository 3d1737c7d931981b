"""Input the detector did not choose: a backfill produced while it runs, producers with
another partitioner, the checkpoint of an earlier release. Each run must publish what the
embedded replay of the demo does."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from kafka import KafkaProducer

from consumers.checkpoints import STATE_TOPIC_CONFIGS
from consumers.topics import home_partition
from pipeline.engine import Engine
from pipeline.models import Mention
from pipeline.records import open_input, read_jsonl
from pipeline.settings import DetectionSettings
from pipeline.synthetic import SAMPLE_PATH
from tests.broker.kafka_broker import create_topic
from tests.helpers import T0, buzzwatch
from tests.test_detector_recovery import (
    CONFIG,
    Stream,
    compare,
    demo_alerts,
    reaped,
    sample,
    stop,
    uninterrupted,
)
from tests.test_kafka_operations import detector, metrics, names, wait_committed

__all__ = ["uninterrupted"]  # the fixture, for pytest

PREVIOUS_DEFAULTS = DetectionSettings(  # its French scorer, sequential level, window noise
    french_scorer="lexicon",
    sequential={"false_alarm_weeks": 1.0},
    window_noise="sliding",
    volume_level="mean",
    quiet_level=0.0,  # and no brand dozing
)
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


@pytest.fixture(scope="module")
def uninterrupted_as_before() -> list[dict[str, Any]]:
    """The demo's alert events from the embedded replay under the previous release's
    defaults (French scored by the lexicon alone, `false_alarm_weeks` 1)."""
    return demo_alerts(Engine(PREVIOUS_DEFAULTS))


def test_a_checkpoint_of_the_previous_release_keeps_every_brand_warm(
    kafka_bootstrap: str, tmp_path: Path, uninterrupted_as_before: list[dict[str, Any]]
) -> None:
    """The state and alerts that the previous release's detector (snapshot version 5) left
    when stopped two thirds into the demo; this release goes on from them, warm. Both run
    with the previous release's defaults where they changed (`french_scorer = "lexicon"`,
    `false_alarm_weeks = 1`, `window_noise = "sliding"`, `volume_level = "mean"`,
    `quiet_level = 0`): with others the alerts would differ for that reason alone."""
    uninterrupted = uninterrupted_as_before
    stream = Stream(kafka_bootstrap, tmp_path)  # the demo: the offsets the fixture names
    stream.config.write_text(
        f'{CONFIG}[detection]\nfrench_scorer = "lexicon"\nwindow_noise = "sliding"\n'
        'volume_level = "mean"\nquiet_level = 0.0\n'
        "[detection.sequential]\nfalse_alarm_weeks = 1.0\n"
    )
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


def test_two_detectors_count_a_foreign_partitioners_mentions_once_each_at_home(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """librdkafka places each brand by CRC32: a detector that reads a mention whose brand's
    home another detector owns re-keys it there. Live-paced, every mention counts once, in
    one detector only, none late."""
    config, topics = names(tmp_path, kafka_bootstrap)
    buzzwatch("topics", "create", "--config", str(config), "--partitions", "3")
    brands = ["brand-0", "brand-2", "brand-3", "brand-5", "brand-9", "brand-15"]
    placed: dict[str, int] = {}

    def delivered(error: Any, message: Any) -> None:
        assert error is None, error
        placed[message.key().decode()] = message.partition()

    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with detector(config, logs[0]) as first, detector(config, logs[1]) as second:
        for log in logs:  # both members before anything is sent
            wait_for(lambda log=log: "state of partitions" in log.read_text(), log)
        time.sleep(3)
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        for number in range(240):  # 20 minutes of mentions, sent 20 times real time
            brand = brands[number % len(brands)]
            mention = {
                "id": f"m{number}",
                "created_at": (T0 + timedelta(seconds=5 * number)).isoformat(),
                "text": "nice trip with them",
                "brand": brand,
            }
            producer.produce(
                topics["mentions_topic"],
                json.dumps(mention).encode(),
                brand.encode(),
                on_delivery=delivered,
            )
            producer.poll(0)
            time.sleep(0.25)
        assert producer.flush(30) == 0
        wait_committed(kafka_bootstrap, topics, 240)  # re-keyed copies come after
        wait_for(lambda: counted_in([metrics(first), metrics(second)], brands) >= 240, logs[0])
        shown = [metrics(first), metrics(second)]
    assert any(placed[b] != home_partition(b, 3) for b in brands), placed
    counted = {brand: [counted_mentions(text, brand) for text in shown] for brand in brands}
    assert all(min(counts) == 0 for counts in counted.values()), counted  # one home each
    assert sum(sum(counts) for counts in counted.values()) == 240, counted
    assert sum(sample(text, "buzzwatch_records_rekeyed_total") for text in shown) > 0
    assert all(rejected(text, "late") == 0 for text in shown)


def counted_in(shown: list[str], brands: list[str]) -> float:
    return sum(counted_mentions(text, brand) for text in shown for brand in brands)


def counted_mentions(metrics: str, brand: str) -> float:
    pattern = rf'^buzzwatch_mentions_total{{brand="{re.escape(brand)}",[^}}]*}} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, metrics, re.MULTILINE))


def wait_for(condition: Any, log: Path, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
