"""`buzzwatch topics create`: every topic the services use, with its settings, made through
the Kafka admin API (hosts without Kafka's own scripts included)."""

from __future__ import annotations

from typing import Any

from consumers.checkpoints import STATE_TOPIC_CONFIGS
from consumers.settings import KafkaSettings, notify_settings


def buzzwatch_topics(
    kafka: KafkaSettings, notify_config: dict[str, Any], partitions: int, replicas: int
) -> dict[str, dict[str, Any]]:
    """Every topic the services use, named as the configuration names them, with its
    settings: mentions kept for good (replays, backfills), the detector's state compacted with
    as many partitions as the mentions topic, the notifier's receipts compacted."""
    notify = notify_settings({"notify": notify_config})

    def spec(count: int, **configs: str) -> dict[str, Any]:
        return {"num_partitions": count, "replication_factor": replicas, "configs": configs}

    return {
        kafka.mentions_topic: spec(partitions, **{"retention.ms": "-1"}),
        kafka.alerts_topic: spec(1),
        kafka.dead_letter_topic: spec(1),
        kafka.state_topic: spec(partitions, **STATE_TOPIC_CONFIGS),
        notify.dead_letter_topic: spec(1),
        notify.deliveries_topic: spec(1, **{"cleanup.policy": "compact"}),
    }
