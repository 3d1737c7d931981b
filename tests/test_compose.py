"""Checks of the deployment files: docker-compose.yml, Dockerfile, Prometheus and the example TOML.

Real tools, no mocks: `docker-compose` (Debian package docker-compose) validates and normalises
the compose file, and `promtool` (Debian package prometheus) validates the Prometheus
configuration and resolves its scrape targets. A missing tool fails these tests.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from buzzwatch.cli import parser_for as cli_parser
from consumers.settings import (
    DeskSettings,
    KafkaSettings,
    MetricsSettings,
    NotifySettings,
    kafka_settings,
    metrics_settings,
    notify_settings,
)
from pipeline.settings import (
    DetectionSettings,
    ExplainSettings,
    RuleSettings,
    SequentialSettings,
    detection_settings,
    load_config,
)
from producers.settings import IngestSettings, ingest_settings
from tests.broker.kafka_broker import KAFKA_VERSION
from tests.servers import binary, run_tool

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PROMETHEUS_CONFIG = ROOT / "config" / "prometheus" / "prometheus.yml"
EXAMPLE_CONFIG = ROOT / "config" / "buzzwatch.example.toml"
DETECTOR_JOB = "buzzwatch-detector"


def _docker_compose() -> str:
    return binary("docker-compose", "docker-compose")


def _promtool() -> str:
    return binary("promtool", "prometheus")


@cache
def _compose_config() -> dict[str, Any]:
    """The compose file as `docker-compose config` normalises it (anchors, merges, defaults)."""
    loaded: dict[str, Any] = yaml.safe_load(run_tool([_docker_compose(), "config"]))
    return loaded


def _command(service: str) -> list[str]:
    """A service's command as an argument list."""
    command = _compose_config()["services"][service]["command"]
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def _cli_args(service: str) -> argparse.Namespace:
    """A service's command parsed by the real `buzzwatch` argument parser."""
    return cli_parser().parse_args(_command(service))


def test_compose_file_is_valid() -> None:
    run_tool([_docker_compose(), "config", "-q"])


def test_kafka_image_matches_test_broker_version() -> None:
    services = _compose_config()["services"]
    expected = f"apache/kafka:{KAFKA_VERSION}"
    assert services["kafka"]["image"] == expected


def test_topics_are_made_by_buzzwatch_itself() -> None:
    args = _cli_args("kafka-init")
    assert (args.command, args.action, args.partitions) == ("topics", "create", 3)


def test_images_are_pinned() -> None:
    for name, service in _compose_config()["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"


def test_detector_metrics_port_is_scraped_by_prometheus() -> None:
    args = _cli_args("detector")
    assert args.command == "detect"
    # Static targets are resolved at once; the timeout only bounds promtool's wait for more.
    discover = [_promtool(), "check", "service-discovery", "--timeout=2s"]
    targets = json.loads(run_tool([*discover, str(PROMETHEUS_CONFIG), DETECTOR_JOB]))
    addresses = [target["labels"]["__address__"] for target in targets]
    assert addresses == [f"detector:{args.metrics_port}"]


def test_ingest_port_is_published_and_scraped_by_prometheus() -> None:
    args = _cli_args("ingest")
    assert args.command == "ingest"
    service = _compose_config()["services"]["ingest"]
    assert "BUZZWATCH_INGEST_TOKENS" in service["environment"]  # empty: ingest will not start
    assert service["ports"] == [f"127.0.0.1:{args.port}:{args.port}/tcp"]
    discover = [_promtool(), "check", "service-discovery", "--timeout=2s"]
    targets = json.loads(run_tool([*discover, str(PROMETHEUS_CONFIG), "buzzwatch-ingest"]))
    assert [target["labels"]["__address__"] for target in targets] == [f"ingest:{args.port}"]


def test_producer_input_is_copied_into_the_image() -> None:
    args = _cli_args("producer")
    assert args.command == "produce"
    copies = re.findall(r"^COPY\s+(\S+)\s+(\S+)\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    sources = [source for source, destination in copies if destination == str(args.input)]
    assert sources, f"the Dockerfile copies nothing to {args.input}"
    assert (ROOT / sources[0]).is_file(), f"{sources[0]} is missing from the repository"


def test_prometheus_config_is_valid() -> None:
    run_tool([_promtool(), "check", "config", str(PROMETHEUS_CONFIG)])


def _keys(model: type[BaseModel], table: dict[str, Any], name: str) -> None:
    """Assert a TOML table sets every field of a model, and every nested table likewise."""
    unset = set(model.model_fields) - set(table)  # TOML has no null: listed in comments
    assert set(table) <= set(model.model_fields), f"[{name}] has keys {model.__name__} lacks"
    text = EXAMPLE_CONFIG.read_text()
    for key in unset:
        assert model.model_fields[key].default is None, f"[{name}] {key} is missing"
        assert f"# {key} = " in text, f"[{name}] {key} is not shown in a comment"
    for key, value in table.items():
        if key == "brands" and model is DetectionSettings:
            DetectionSettings.model_validate({"brands": value})
        elif isinstance(value, dict):
            nested = model.model_fields[key].annotation
            assert nested in (RuleSettings, SequentialSettings, ExplainSettings)
            _keys(nested, value, f"{name}.{key}")


def test_example_config_lists_every_setting() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert set(config) == {"detection", "kafka", "metrics", "ingest", "desk", "notify"}
    _keys(DetectionSettings, config["detection"], "detection")
    _keys(KafkaSettings, config["kafka"], "kafka")
    _keys(MetricsSettings, config["metrics"], "metrics")
    _keys(IngestSettings, config["ingest"], "ingest")
    _keys(DeskSettings, config["desk"], "desk")
    # [[notify.webhooks]] are commented examples (tests/test_notify.py validates them)
    _keys(NotifySettings, {"webhooks": [], **config["notify"]}, "notify")


def test_example_config_holds_the_defaults() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert detection_settings(config).model_dump() == DetectionSettings().model_dump()
    assert kafka_settings(config).model_dump() == KafkaSettings().model_dump()
    assert metrics_settings(config).model_dump() == MetricsSettings().model_dump()
    assert ingest_settings(config).model_dump() == IngestSettings().model_dump()
    assert DeskSettings.model_validate(config["desk"]) == DeskSettings()
    assert notify_settings(config).model_dump() == NotifySettings().model_dump()


def test_bind_mounts_exist_in_the_repository() -> None:
    for name, service in _compose_config()["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith("/") or source.startswith("."):
                path = Path(source)
                assert path.is_relative_to(ROOT) and path.exists(), f"{name}: {source} missing"


def test_compose_notify_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUZZWATCH_WEBHOOK_URL", "https://hooks.example/buzz")
    monkeypatch.setenv("BUZZWATCH_WEBHOOK_SECRET", "s3cret")
    config = load_config(ROOT / "config" / "notify.compose.toml")
    assert [hook.name for hook in notify_settings(config).webhooks] == ["incidents"]
    assert _command("notify") == ["notify", "--config=/etc/buzzwatch/notify.toml"]
