"""End to end with real components: a crisis replayed through Kafka reaches a webhook twice.

Kafka → `buzzwatch detect` → /metrics → Prometheus (the repo's rules) → Alertmanager (the
repo's routing, webhooks pointed at a local receiver) → webhook; and the alerts topic →
`buzzwatch notify` → signed JSON webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.broker.kafka_broker import create_topic
from tests.helpers import ANGRY_TEXT, jsonl, produce, stream
from tests.servers import (
    Received,
    Receiver,
    free_port,
    query,
    receiving,
    running_alertmanager,
    running_prometheus,
    stop,
    with_repo_rules,
)

ROOT = Path(__file__).resolve().parents[1]
WAIT_SECONDS = 120.0
SECRET = "e2e-secret"


def _alertmanager_config(receiver: Receiver, path: Path) -> Path:
    """The repo's Alertmanager configuration, every webhook pointed at `receiver`, no waiting."""
    config = yaml.safe_load((ROOT / "config/alertmanager/alertmanager.yml").read_text())
    for entry in config["receivers"]:
        for hook in entry.get("webhook_configs", []):
            hook["url"] = receiver.url(f"/alertmanager/{entry['name']}")
    config["route"].update(group_wait="1s", group_interval="1s")
    path.write_text(yaml.safe_dump(config))
    return path


def _prometheus_config(detector_port: int, alertmanager: str, workdir: Path) -> Path:
    """Scrape the detector every second with the repo's rules, alerting to `alertmanager`."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules/*.yml"],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [alertmanager.split("//")[1]]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "buzzwatch-detector",
                "static_configs": [{"targets": [f"127.0.0.1:{detector_port}"]}],
            }
        ],
    }
    return with_repo_rules(yaml.safe_dump(config), workdir)


def _service(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "buzzwatch", *args], stdout=output, stderr=subprocess.STDOUT
        )


def _wait_for(what: str, found: Callable[[], list[Any]], logs: list[Path]) -> list[Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if items := found():
            return items
        time.sleep(0.5)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}" for log in logs)
    pytest.fail(f"timed out waiting for {what}\n{tails}", pytrace=False)


@pytest.fixture(scope="module")
def crisis(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A calm morning then an angry crisis at 15:00, cut off while it lasts; on a topic."""
    tmp = tmp_path_factory.mktemp("e2e")
    source = tmp / "crisis.jsonl"
    source.write_text(jsonl(list(stream(930, 1.0, "acme", spike=(900, 940, ANGRY_TEXT)))))
    suffix = uuid.uuid4().hex[:8]
    topics = {t: f"e2e-{t}-{suffix}" for t in ("mentions", "alerts", "dlq", "notify-dlq")}
    for name, topic in topics.items():
        create_topic(kafka_bootstrap, topic, partitions=3 if name == "mentions" else 1)
    produce(source, topics["mentions"], kafka_bootstrap)
    return topics | {"suffix": suffix}


@pytest.fixture(scope="module")
def delivered(
    kafka_bootstrap: str, crisis: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[Received], list[Received]]]:
    """What Alertmanager and `buzzwatch notify` posted to the local receiver."""
    tmp = tmp_path_factory.mktemp("e2e-run")
    suffix = crisis["suffix"]
    detector_port = free_port()
    notify_config = tmp / "notify.toml"
    with receiving() as receiver:
        notify_config.write_text(
            f'[notify]\ngroup_id = "notify-{suffix}"\n'
            f'dead_letter_topic = "{crisis["notify-dlq"]}"\n'
            f'deliveries_topic = "e2e-deliveries-{suffix}"\n'
            f'[[notify.webhooks]]\nname = "incidents"\nformat = "json"\n'
            f'url = "{receiver.url("/notify")}"\nsecret = "{SECRET}"\n'
        )
        detector = _service(
            [
                "detect",
                "--bootstrap-servers",
                kafka_bootstrap,
                "--topic",
                crisis["mentions"],
                "--alerts-topic",
                crisis["alerts"],
                "--dead-letter-topic",
                crisis["dlq"],
                "--group-id",
                f"detector-{suffix}",
                "--metrics-port",
                str(detector_port),
                "--metrics-address",
                "127.0.0.1",
            ],
            tmp / "detector.log",
        )
        notifier = _service(
            [
                "notify",
                "--config",
                str(notify_config),
                "--bootstrap-servers",
                kafka_bootstrap,
                "--alerts-topic",
                crisis["alerts"],
            ],
            tmp / "notify.log",
        )
        logs = [
            tmp / "detector.log",
            tmp / "notify.log",
            tmp / "prometheus-alertmanager.log",
            tmp / "prometheus.log",
        ]
        try:
            am_config = _alertmanager_config(receiver, tmp / "alertmanager.yml")
            with running_alertmanager(am_config, tmp) as alertmanager:
                prometheus_config = _prometheus_config(detector_port, alertmanager, tmp)
                with running_prometheus(prometheus_config, tmp) as prometheus:
                    _wait_for(
                        "Prometheus to fire BuzzwatchNegativeSpike",
                        lambda: query(
                            prometheus,
                            'ALERTS{alertname="BuzzwatchNegativeSpike",'
                            'alertstate="firing",brand="acme"}',
                        )["result"],
                        logs,
                    )
                    paged = _wait_for(
                        "Alertmanager's webhook",
                        lambda: [
                            r
                            for r in receiver.received()
                            if r.path.startswith("/alertmanager/")
                            and _has_alert(r, "BuzzwatchNegativeSpike")
                        ],
                        logs,
                    )
                    notified = _wait_for(
                        "buzzwatch notify's webhook",
                        lambda: [
                            r for r in receiver.at("/notify") if r.json()["kind"] == "negative"
                        ],
                        logs,
                    )
                    yield paged, notified
        finally:
            assert stop(notifier) == 0, (tmp / "notify.log").read_text()
            assert stop(detector) == 0, (tmp / "detector.log").read_text()


def _has_alert(request: Received, alertname: str) -> bool:
    return any(a["labels"].get("alertname") == alertname for a in request.json()["alerts"])


def test_the_prometheus_alert_reaches_the_webhook_through_alertmanager(
    delivered: tuple[list[Received], list[Received]],
) -> None:
    paged, _ = delivered
    body = paged[0].json()
    alert = next(a for a in body["alerts"] if a["labels"]["alertname"] == "BuzzwatchNegativeSpike")
    assert body["status"] == "firing" and alert["status"] == "firing"
    assert alert["labels"]["brand"] == "acme"
    assert alert["labels"]["severity"] in {"warning", "critical"}
    assert alert["annotations"]["runbook_url"].endswith("negative-spike.md")
    # routed by severity, as config/alertmanager/alertmanager.yml says
    assert paged[0].path == f"/alertmanager/buzzwatch-{alert['labels']['severity']}"


def test_notify_delivered_the_topic_alert_signed(
    delivered: tuple[list[Received], list[Received]],
) -> None:
    _, notified = delivered
    event = notified[0].json()
    assert (event["brand"], event["kind"], event["state"]) == ("acme", "negative", "firing")
    headers = notified[0].headers  # names in lower case
    signed = f"{headers['x-buzzwatch-timestamp']}.".encode() + notified[0].body
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["x-buzzwatch-signature"] == f"sha256={expected}"
    assert notified[0].delivery == f"{event['id']}:firing"
    assert len(notified) == 1  # once, although the alert stays active
