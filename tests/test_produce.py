"""`produce` against the real broker: keys, event-time record timestamps, pacing, bad lines."""

from __future__ import annotations

import json
import uuid

from kafka import KafkaConsumer

from pipeline.brands import BrandMatcher, BrandTerms
from pipeline.models import Invalid, Mention
from producers.file_producer import mention_producer, produce
from tests.broker.kafka_broker import create_topic
from tests.helpers import mention, read_topic


def test_produce_keys_by_brand_paces_by_event_time_and_skips_bad_lines(
    kafka_bootstrap: str,
) -> None:
    topic = f"produce-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic, partitions=3)
    records: list[tuple[int, Mention | Invalid]] = [
        (1, mention(0.0, "first", "acme")),
        (2, Invalid("bad JSON: Expecting value at column 1")),
        (3, mention(1.0, "second", "globex")),
        (4, mention(2.0, "third", None)),
    ]
    sleeps: list[float] = []
    now = [100.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    producer = mention_producer({"bootstrap_servers": kafka_bootstrap})
    try:
        summary = produce(records, producer, topic, speed=30, sleep=sleep, clock=lambda: now[0])
    finally:
        producer.close()
    assert (summary.sent, summary.rejected.count, summary.failed) == (3, 1, 0)
    assert summary.rejected.first == [(2, "bad JSON: Expecting value at column 1")]
    assert [round(s, 6) for s in sleeps] == [2.0, 2.0]  # one event-time minute = 2 s at 30×

    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    got = []
    for _ in range(40):
        for rows in consumer.poll(timeout_ms=250).values():
            got.extend(rows)
        if len(got) >= 3:
            break
    consumer.close()
    by_text = {json.loads(r.value)["text"]: r for r in got}
    assert set(by_text) == {"first", "second", "third"}
    assert by_text["first"].key == b"acme" and by_text["third"].key is None
    expected_ms = int(mention(1.0).created_at.timestamp() * 1000)
    assert by_text["second"].timestamp == expected_ms
    decoded = Mention.model_validate_json(by_text["second"].value)
    assert decoded == records[2][1]


def test_produce_sends_an_unbranded_mention_to_each_brand_it_names(kafka_bootstrap: str) -> None:
    topic = f"produce-match-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic, partitions=3)
    matcher = BrandMatcher({"Acme": BrandTerms(handles=("@acme",)), "Globex": BrandTerms()})
    records: list[tuple[int, Mention | Invalid]] = [
        (1, mention(0.0, "@ACME and globex, both down", None, id="both")),
        (2, mention(1.0, "nothing to see", None, id="none")),
        (3, mention(2.0, "Globex rocks", "acme", id="given")),  # the source's brand wins
    ]
    producer = mention_producer({"bootstrap_servers": kafka_bootstrap})
    try:
        summary = produce(records, producer, topic, matcher=matcher)
    finally:
        producer.close()
    assert (summary.sent, summary.matched, summary.failed) == (4, 1, 0)
    got = read_topic(kafka_bootstrap, topic, want=4, patience=1.0)
    sent = sorted((json.loads(r.value)["id"], r.key, json.loads(r.value).get("brand")) for r in got)
    assert sent == [
        ("both", b"Acme", "Acme"),
        ("both", b"Globex", "Globex"),
        ("given", b"acme", "acme"),
        ("none", None, None),  # the detector dead-letters it with its reason
    ]
