"""One file through `replay` and through `produce` → Kafka → `detect`: the same alerts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kafka import KafkaProducer

from tests.broker.kafka_broker import create_topic
from tests.helpers import ANGRY_TEXT, HAPPY_TEXT, buzzwatch, jsonl, produce, read_topic, stream
from tests.servers import binary, free_port, run_tool

BAD_RECORDS = [
    (b"acme", b"{not json"),
    (b"acme", b'{"id":"x1","created_at":"2026-03-02T10:00:00Z","brand":"acme"}'),
    (None, b'{"id":"x2","created_at":"2026-03-02T10:00:00Z","text":"who am I about?"}'),
    (b"acme", b"\xff\xfe\xfd"),
    # dated ten years ahead: must neither count nor move event time
    (b"acme", b'{"id":"x3","created_at":"2036-03-02T10:00:00Z","brand":"acme","text":"hi"}'),
]


@dataclass
class Run:
    """What the two paths produced."""

    replayed: list[dict[str, object]]
    detected: list[dict[str, object]]
    dead_letters: list[tuple[bytes, dict[str, bytes]]]
    metrics: str
    detector_exit: int
    detector_log: str


@pytest.fixture(scope="module")
def run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("kafka-pipeline")
    mentions = sorted(
        [
            # spikes after the 12-hour warm-up
            *stream(20 * 60, 1.0, "acme", spike=(900, 940, ANGRY_TEXT)),
            *stream(20 * 60, 3.0, "globex"),
            *stream(20 * 60, 0.5, "initech", spike=(780, 810, HAPPY_TEXT)),
        ],
        key=lambda m: m.created_at,
    )
    source = tmp / "mentions.jsonl"
    source.write_text(jsonl(mentions), encoding="utf-8")

    alerts_file = tmp / "alerts.jsonl"
    buzzwatch("replay", str(source), "--alerts-out", str(alerts_file), "--no-progress")
    replayed = [json.loads(line) for line in alerts_file.read_text().splitlines()]

    suffix = uuid.uuid4().hex[:8]
    topics = {t: f"{t}-{suffix}" for t in ("mentions", "alerts", "dlq")}
    for topic in topics.values():
        create_topic(kafka_bootstrap, topic, partitions=3)
    bad = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for key, value in BAD_RECORDS:
        bad.send(topics["mentions"], key=key, value=value)
    bad.flush()
    bad.close()
    produce(source, topics["mentions"], kafka_bootstrap)
    # a producer re-sends the last mention (its bucket is still open): counted once
    last = mentions[-1]
    resend = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    resend.send(topics["mentions"], key=(last.brand or "").encode(), value=jsonl([last]).encode())
    resend.flush()
    resend.close()

    port = free_port()
    log_path = tmp / "detector.log"
    with log_path.open("w") as log:
        detector = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "buzzwatch",
                "detect",
                "--bootstrap-servers",
                kafka_bootstrap,
                "--topic",
                topics["mentions"],
                "--alerts-topic",
                topics["alerts"],
                "--dead-letter-topic",
                topics["dlq"],
                "--group-id",
                f"detector-{suffix}",
                "--metrics-port",
                str(port),
                "--metrics-address",
                "127.0.0.1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            alerts = read_topic(kafka_bootstrap, topics["alerts"], len(replayed), patience=5)
            dead = read_topic(kafka_bootstrap, topics["dlq"], len(BAD_RECORDS), patience=1)
            url = f"http://127.0.0.1:{port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as response:
                metrics = response.read().decode()
        finally:
            detector.send_signal(signal.SIGTERM)
            exit_code = detector.wait(timeout=60)
    yield Run(
        replayed=replayed,
        detected=[json.loads(r.value) for r in alerts],  # type: ignore[attr-defined]
        dead_letters=[(r.value, dict(r.headers)) for r in dead],  # type: ignore[attr-defined]
        metrics=metrics,
        detector_exit=exit_code,
        detector_log=log_path.read_text(),
    )


def sort_key(event: dict[str, object]) -> tuple[str, ...]:
    return (str(event["at"]), str(event["brand"]), str(event["kind"]), str(event["state"]))


def test_same_engine_same_alerts(run: Run) -> None:
    assert run.replayed, "the scenario must raise alerts"
    kinds = {(e["brand"], e["kind"], e["state"]) for e in run.replayed}
    assert ("acme", "negative", "firing") in kinds
    assert ("initech", "volume", "firing") in kinds
    assert ("initech", "negative", "firing") not in kinds
    assert sorted(run.detected, key=sort_key) == sorted(run.replayed, key=sort_key)


def test_invalid_records_go_to_the_dead_letter_topic_with_a_reason(run: Run) -> None:
    assert sorted(value for value, _ in run.dead_letters) == sorted(v for _, v in BAD_RECORDS)
    reasons = sorted(headers["buzzwatch.reason"].decode() for _, headers in run.dead_letters)
    assert reasons[0].startswith("bad JSON")
    assert "invalid UTF-8 at byte 0" in reasons
    assert "no brand" in reasons
    assert "text: missing" in reasons
    assert "dated after now + max_ahead_hours" in reasons
    kinds = sorted(headers["buzzwatch.reason_kind"].decode() for _, headers in run.dead_letters)
    assert kinds == ["ahead", "invalid_json", "invalid_json", "invalid_record", "unbranded"]


def test_metrics_are_exposed(run: Run) -> None:
    assert 'buzzwatch_dead_letters_total{reason="invalid_json"} 2.0' in run.metrics
    assert 'buzzwatch_dead_letters_total{reason="invalid_record"} 1.0' in run.metrics
    assert 'buzzwatch_dead_letters_total{reason="unbranded"} 1.0' in run.metrics
    assert 'buzzwatch_records_rejected_total{reason="unbranded"} 1.0' in run.metrics
    assert 'buzzwatch_records_rejected_total{reason="ahead"} 1.0' in run.metrics
    assert 'buzzwatch_records_rejected_total{reason="duplicate"} 1.0' in run.metrics
    assert 'buzzwatch_mentions_total{brand="acme",sentiment="negative",source="unknown"}' in (
        run.metrics
    )
    assert 'buzzwatch_alert_events_total{brand="acme",kind="negative"' in run.metrics
    assert 'buzzwatch_alerts_active{brand="acme",kind="negative",severity=' in run.metrics
    for name in (
        'buzzwatch_spike_score{brand="acme",kind="volume"}',
        'buzzwatch_bucket_mentions{brand="acme"}',
        'buzzwatch_bucket_negative_ratio{brand="acme"}',
        "buzzwatch_consumer_lag_records{partition=",
        'buzzwatch_rebalances_total{event="assigned"}',
        "buzzwatch_scoring_seconds_count",
        "buzzwatch_event_time_lag_seconds",
        'buzzwatch_source_last_seen_timestamp_seconds{source="unknown"}',
        "buzzwatch_build_info{",
        "buzzwatch_state_restore_seconds_count",
        'buzzwatch_state_restored_brands{partition="0"}',
        "buzzwatch_state_written_bytes_total",
        "buzzwatch_detector_restarts_total 0.0",
        "process_cpu_seconds_total",  # prometheus_client's own collectors
        "process_resident_memory_bytes",
        'python_info{implementation="CPython"',
    ):
        assert name in run.metrics, name


def test_the_live_exposition_passes_promtool(run: Run) -> None:
    promtool = binary("promtool", "prometheus")
    run_tool([promtool, "check", "metrics"], stdin=run.metrics, timeout=60)


def test_sigterm_stops_the_detector_cleanly(run: Run) -> None:
    assert run.detector_exit == 0, run.detector_log
