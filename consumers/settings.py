"""Settings of the consumers' services, from the `[kafka]`, `[metrics]`, `[desk]` and
`[notify]` tables: models only, so that checking a configuration file loads neither Kafka's
client nor the HTTP stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from consumers.webhooks import DeliverySettings, WebhookSettings

DESK_TOKENS_ENV = "BUZZWATCH_DESK_TOKENS"

SECURITY_KEYS = (
    "security_protocol",
    "sasl_mechanism",
    "sasl_plain_username",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
)
SECRET_KEYS = ("sasl_plain_password", "ssl_password")


class KafkaSettings(BaseModel):
    """Where the services read and write, and how they authenticate to the brokers.

    The security keys are passed to every Kafka client as kafka-python names them; the
    passwords are `SecretStr`, so they never show in a log, a repr or an error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    bootstrap_servers: str = "localhost:9092"
    mentions_topic: str = "buzzwatch.mentions"
    alerts_topic: str = "buzzwatch.alerts"
    dead_letter_topic: str = "buzzwatch.mentions.dlq"
    state_topic: str = ""  # default: "<group_id>.state", as Kafka Streams names changelogs
    group_id: str = "buzzwatch-detector"
    # A stable name for one detector instance (a pod name, say): the group knows it again
    # after a restart (static membership: no rebalance, same partitions) and its transactional
    # id is fixed, so its crashed predecessor's open transaction is aborted at once.
    instance_id: str | None = None
    session_timeout_ms: int = Field(10_000, ge=1000)
    transaction_timeout_ms: int = Field(10_000, ge=1000)
    # How often the detector commits its transaction: alerts become visible to read_committed
    # consumers then, and each changed brand's state is written once per commit.
    commit_interval_ms: int = Field(1000, ge=0)
    max_poll_records: int = Field(1000, ge=1)
    # A partition stops holding event time back once it has been read to its end (as the
    # broker says now, not as the last fetch said) and nothing came from it for this long:
    # while a producer writes, even a backfill at full speed, its partitions keep time back.
    idle_after_ms: int = Field(5000, ge=0)
    # How far (event time) a partition is read ahead of the slowest one before its records
    # wait to be read again: what is read ahead stays open in memory and in the checkpoint,
    # and reading again costs fetches (6 minutes: 40 % of a bare consume loop; 1 hour: 49 %).
    read_ahead_seconds: int = Field(3600, ge=0)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _name_the_state_topic(self) -> KafkaSettings:
        if not self.state_topic:
            object.__setattr__(self, "state_topic", f"{self.group_id}.state")
        return self

    def client_options(self) -> dict[str, Any]:
        """Bootstrap servers and security settings for a kafka-python client."""
        keys = ("bootstrap_servers", *SECURITY_KEYS, *SECRET_KEYS)
        values = {key: getattr(self, key) for key in keys}
        return {
            key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in values.items()
            if value is not None
        }


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


def _table(config: Mapping[str, Any], name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    return {**config.get(name, {}), **{k: v for k, v in overrides.items() if v is not None}}


class DeskSettings(BaseModel):
    """The `[desk]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    log_dir: Path = Field(Path("crisis-log"), description="The crisis log directory.")
    group_id: str = "buzzwatch-desk"
    address: str = "0.0.0.0"
    port: int = Field(8090, ge=0, le=65535)
    tokens: tuple[SecretStr, ...] = Field((), description="Bearer tokens accepted.")
    idle_seconds: float = Field(
        2.0, gt=0, description="A topic silent this long no longer holds the other back."
    )


def desk_settings(config: Mapping[str, Any], **overrides: Any) -> DeskSettings:
    """The `[desk]` table, command-line values (not None) on top, `$BUZZWATCH_DESK_TOKENS` added."""
    values = _table(config, "desk", overrides)
    from_env = [t.strip() for t in os.environ.get(DESK_TOKENS_ENV, "").split(",") if t.strip()]
    values["tokens"] = [*values.get("tokens", []), *from_env]
    settings = DeskSettings.model_validate(values)
    if not settings.tokens:
        raise ValueError(f"desk needs at least one token ([desk] tokens or ${DESK_TOKENS_ENV})")
    return settings


class NotifySettings(DeliverySettings):
    """The `[notify]` table: topics, consumer group, delivery settings and webhooks."""

    group_id: str = "buzzwatch-notify"
    dead_letter_topic: str = "buzzwatch.alerts.dlq"
    deliveries_topic: str = "buzzwatch.notify.deliveries"
    webhooks: tuple[WebhookSettings, ...] = Field(default=())

    @model_validator(mode="after")
    def _unique_names(self) -> NotifySettings:
        names = [webhook.name for webhook in self.webhooks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"webhook names must be unique: {', '.join(duplicates)}")
        return self


def notify_settings(config: dict[str, Any], **overrides: Any) -> NotifySettings:
    """The `[notify]` table, with command-line values (those not None) on top."""
    return NotifySettings.model_validate(_table(config, "notify", overrides))
