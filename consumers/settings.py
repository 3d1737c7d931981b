"""Kafka settings of the services, from the `[kafka]` table of the configuration file."""

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
    values = dict(config.get("kafka", {}))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return KafkaSettings.model_validate(values)
