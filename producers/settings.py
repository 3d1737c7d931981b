"""Settings of the producers' services, from the `[ingest]` and `[webhooks.NAME]` tables:
models only, so that checking a configuration file loads neither Kafka's client nor the
HTTP stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)

from producers.mapping import REQUIRED_FIELDS, FieldPath, MentionField

TOKENS_ENV = "BUZZWATCH_INGEST_TOKENS"
HOOK_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # it stands in a URL path and before ids
HookName = Annotated[str, StringConstraints(pattern=HOOK_NAME_PATTERN)]


class IngestSettings(BaseModel):
    """The `[ingest]` table: where the service listens, who may post, and its limits."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    address: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)
    tokens: tuple[SecretStr, ...] = Field((), description="Bearer tokens accepted.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger requests get 413.")
    max_batch: int = Field(1000, ge=1, description="More mentions in one request get 413.")
    max_pending: int = Field(
        10_000, ge=1, description="Mentions waiting for Kafka at once; beyond, 429."
    )
    send_timeout_seconds: float = Field(
        10.0, ge=2, description="How long a request waits for Kafka's acknowledgement; then 503."
    )
    max_connections: int = Field(
        256,
        ge=1,
        description="Requests in progress at once (a connection between two requests holds "
        "none); a new one beyond gets 503.",
    )
    request_seconds: float = Field(
        60.0,
        ge=1,
        description="How long a connection may take to send a request's head (or stay idle "
        "between two), and then its body, before it is closed (408 for a late body); the wait "
        "for Kafka comes on top.",
    )

    @model_validator(mode="after")
    def _batch_fits(self) -> IngestSettings:
        if self.max_batch > self.max_pending:
            raise ValueError("max_batch must be at most max_pending")
        return self


def ingest_settings(config: Mapping[str, Any], **overrides: Any) -> IngestSettings:
    """The `[ingest]` table, command-line values (those not None) on top, and the tokens of
    `$BUZZWATCH_INGEST_TOKENS` (comma-separated) added to the table's."""
    values = dict(config.get("ingest", {}))
    values.update({k: v for k, v in overrides.items() if v is not None})
    from_env = [t.strip() for t in os.environ.get(TOKENS_ENV, "").split(",") if t.strip()]
    values["tokens"] = [*values.get("tokens", []), *from_env]
    return IngestSettings.model_validate(values)


class HookSettings(BaseModel):
    """One `[webhooks.NAME]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    records: str | None = Field(
        None, description="Path of the list of records; absent: the payload is one or an array."
    )
    source: str | None = Field(None, min_length=1, description="Default: the hook's name.")
    brand: str | None = Field(None, min_length=1, description="The brand of every record.")
    secret: SecretStr | None = Field(
        None,
        min_length=1,
        description="HMAC-SHA256 key of the raw body; absent: the bearer token is needed.",
    )
    signature_header: str = Field("X-Signature-256", min_length=1)
    state: Path | None = Field(None, description="Position file; absent: kept in memory.")
    fields: dict[MentionField, str | tuple[str, ...]] = Field(
        description="Mention field -> path in the record (text: one path or a list)."
    )

    @field_validator("records")
    @classmethod
    def _records_path(cls, value: str | None) -> str | None:
        if value is not None:
            FieldPath.parse(value)
        return value

    @field_validator("fields")
    @classmethod
    def _mapping(
        cls, fields: dict[MentionField, str | tuple[str, ...]]
    ) -> dict[MentionField, str | tuple[str, ...]]:
        missing = [field for field in REQUIRED_FIELDS if field not in fields]
        if missing:
            raise ValueError(f"id, created_at and text must be mapped; missing: {missing}")
        for field, paths in fields.items():
            if not isinstance(paths, str) and (field != "text" or not paths):
                raise ValueError(f"{field}: one path (a list of paths is for text only)")
            for path in (paths,) if isinstance(paths, str) else paths:
                FieldPath.parse(path)
        if "author.id" not in fields and any(f.startswith("author.") for f in fields):
            raise ValueError(
                "author.name, author.followers and author.follows_brand need author.id"
            )
        return fields

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.brand is not None and "brand" in self.fields:
            raise ValueError("give brand or fields.brand, not both")
        if self.secret is None and "signature_header" in self.model_fields_set:
            raise ValueError("signature_header goes with a secret")
        return self


_HOOK_TABLES = TypeAdapter(
    dict[HookName, HookSettings], config=ConfigDict(title="webhooks", hide_input_in_errors=True)
)


def hook_settings(config: Mapping[str, Any]) -> dict[str, HookSettings]:
    """The `[webhooks.NAME]` tables, validated; ValueError when two share a state file."""
    hooks = _HOOK_TABLES.validate_python(config.get("webhooks", {}))
    states = [hook.state.resolve() for hook in hooks.values() if hook.state is not None]
    if len(set(states)) < len(states):
        raise ValueError("each webhook needs a state file of its own")
    return hooks
