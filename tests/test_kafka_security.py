"""SASL settings reach the Kafka clients: produce and detect through the broker's
SASL_PLAINTEXT listener, and the password shows in no log and no metric."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from consumers.settings import KafkaSettings
from tests.broker.kafka_broker import SASL_PASSWORD, SASL_USER, create_topic
from tests.helpers import ANGRY_TEXT, buzzwatch, jsonl, stream
from tests.servers import free_port, stop

DEADLINE_MS = 60_000


def _sasl_config(path: Path, password: str) -> Path:
    path.write_text(
        "[kafka]\n"
        'security_protocol = "SASL_PLAINTEXT"\n'
        'sasl_mechanism = "PLAIN"\n'
        f'sasl_plain_username = "{SASL_USER}"\n'
        f'sasl_plain_password = "{password}"\n'
    )
    return path


def test_the_passwords_never_show() -> None:
    settings = KafkaSettings(sasl_plain_password="p4ss", ssl_password="k3y")  # type: ignore[arg-type]
    assert "p4ss" not in repr(settings) and "k3y" not in str(settings)
    assert settings.client_options()["sasl_plain_password"] == "p4ss"
    with pytest.raises(ValueError) as refused:
        KafkaSettings(security_protocol="SASL", sasl_plain_password="p4ss")  # type: ignore[arg-type]
    assert "p4ss" not in str(refused.value)


def test_produce_and_detect_over_sasl(
    kafka_bootstrap: str, kafka_sasl_bootstrap: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = {name: f"sasl-{name}-{suffix}" for name in ("mentions", "alerts", "dlq")}
    for topic in topics.values():
        create_topic(kafka_bootstrap, topic, partitions=1)
    config = _sasl_config(tmp_path / "sasl.toml", SASL_PASSWORD)
    source = tmp_path / "crisis.jsonl"
    source.write_text(jsonl(list(stream(960, 1.0, "acme", spike=(900, 940, ANGRY_TEXT)))))
    produced = buzzwatch(
        "produce", str(source), "--config", str(config), "--topic", topics["mentions"],
        "--bootstrap-servers", kafka_sasl_bootstrap, "--no-progress",
    )  # fmt: skip
    port = free_port()
    log = tmp_path / "detect.log"
    with log.open("wb") as output:
        detector = subprocess.Popen(
            [
                sys.executable, "-m", "buzzwatch", "detect", "--config", str(config),
                "--bootstrap-servers", kafka_sasl_bootstrap, "--topic", topics["mentions"],
                "--alerts-topic", topics["alerts"], "--dead-letter-topic", topics["dlq"],
                "--group-id", f"sasl-{suffix}", "--metrics-port", str(port),
                "--metrics-address", "127.0.0.1",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        consumer = KafkaConsumer(
            topics["alerts"],
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=DEADLINE_MS,
        )
        first = next(iter(consumer), None)
        consumer.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
    finally:
        exit_code = stop(detector)
    assert first is not None, log.read_text()
    assert json.loads(first.value)["brand"] == "acme"
    assert exit_code == 0
    for output_text in (produced.stdout, produced.stderr, log.read_text(), metrics):
        assert SASL_PASSWORD not in output_text
