"""`produce` against the real broker: keys, event-time record timestamps, pacing, bad lines."""

from __future__ import annotations

import json
import uuid

from kafka import KafkaConsumer

from pipeline.models import Invalid, Mention
from producers.file_producer import mention_producer, produce
from tests.broker.kafka_broker import create_topic
from tests.helpers import mention


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
