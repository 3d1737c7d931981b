"""The webhooks of `buzzwatch ingest` (`POST /v1/hooks/NAME`): the `[webhooks.NAME]` tables of
the configuration, and what each hook keeps: its field mapping, its signature check and its
position (the ids it delivered), so that a delivery sent again is not written twice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
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

from pipeline.models import Mention
from producers.follow import Position
from producers.mapping import REQUIRED_FIELDS, FieldPath, MentionField, RecordMapper

log = logging.getLogger(__name__)
HOOKS_PATH = "/v1/hooks/"
SIGNATURE_PREFIX = "sha256="
HOOK_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # it stands in a URL path and before ids
HookName = Annotated[str, StringConstraints(pattern=HOOK_NAME_PATTERN)]
Numbered = list[tuple[int, Mention]]  # mentions with their place in the delivery


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


class Hook:
    """A configured webhook at `/v1/hooks/NAME`. Its deliveries are taken one at a time
    (`lock`), so that an id is read from the position and recorded in it by one of them."""

    def __init__(self, name: str, settings: HookSettings) -> None:
        self.name = name
        self.path = HOOKS_PATH + name
        self.settings = settings
        self.records_path = FieldPath.parse(settings.records) if settings.records else None
        self.mapper = RecordMapper(name, settings.fields, settings.source or name, settings.brand)
        self.position = Position(settings.state)
        self.position.save()  # a file it cannot write stops the start, not a delivery
        self.lock = threading.Lock()
        self._secret = settings.secret.get_secret_value().encode() if settings.secret else None

    @property
    def signed(self) -> bool:
        """Whether requests are authenticated by signature (else by the bearer token)."""
        return self._secret is not None

    def describe(self) -> str:
        """How the hook authenticates and where it keeps its position, for the log."""
        how = f"signed ({self.settings.signature_header})" if self.signed else "bearer token"
        where = self.settings.state or "memory"
        return f"webhook {self.name} at {self.path}: {how}, position in {where}"

    def signature_matches(self, body: bytes, header: str) -> bool:
        """Whether `header` is the HMAC-SHA256 hex digest of `body`, `sha256=` before it or
        not (constant time)."""
        if self._secret is None:
            return False
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        given = header.strip().lower().removeprefix(SIGNATURE_PREFIX)
        return hmac.compare_digest(given.encode(), expected.encode())

    def fresh(self, numbered: Numbered) -> tuple[Numbered, int]:
        """The mentions not delivered before (nor earlier in this delivery), and how many of
        `numbered` were."""
        fresh, ids = [], set()
        for index, mention in numbered:
            if not (self.position.seen(mention.id) or mention.id in ids):
                fresh.append((index, mention))
                ids.add(mention.id)
        return fresh, len(numbered) - len(fresh)

    def record(self, ids: list[str]) -> None:
        """Add the ids Kafka acknowledged to the position and save it; a failed save is
        logged (the ids stay remembered until a restart)."""
        self.position.add(ids)
        try:
            self.position.save()
        except OSError as error:
            log.error(
                "%s: position not saved (a restart may write %d again): %s",
                self.path,
                len(ids),
                error,
            )


def configured_hooks(config: Mapping[str, Any]) -> dict[str, Hook]:
    """The hooks of a configuration by name, their positions read; ValueError (settings, a
    position file that is not JSON) or OSError (one that cannot be read or written)."""
    return {name: Hook(name, settings) for name, settings in hook_settings(config).items()}
