"""Settings of the services, from the `[kafka]` and `[metrics]` tables of the configuration."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class KafkaSettings(BaseModel):
    """Where the services read and write."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap_servers: str = "localhost:9092"
    mentions_topic: str = "buzzwatch.mentions"
    alerts_topic: str = "buzzwatch.alerts"
    dead_letter_topic: str = "buzzwatch.mentions.dlq"
    group_id: str = "buzzwatch-detector"
    max_poll_records: int = Field(1000, ge=1)


def kafka_settings(config: dict[str, Any], **overrides: Any) -> KafkaSettings:
    """The `[kafka]` table, with command-line values (those not None) on top."""
    return KafkaSettings.model_validate(_table(config, "kafka", overrides))


class MetricsSettings(BaseModel):
    """The `[metrics]` table: where the detector serves its metrics and how labels are bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = "0.0.0.0"
    port: int = Field(9108, ge=0, le=65535)
    brands: tuple[str, ...] = ()
    max_brands: int = Field(100, ge=1)
    max_sources: int = Field(20, ge=1)


def metrics_settings(config: dict[str, Any], **overrides: Any) -> MetricsSettings:
    """The `[metrics]` table, with command-line values (those not None) on top."""
    return MetricsSettings.model_validate(_table(config, "metrics", overrides))


def _table(config: dict[str, Any], name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    values = dict(config.get(name, {}))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return values
