"""The webhooks of `buzzwatch ingest` (`POST /v1/hooks/NAME`), configured by the
`[webhooks.NAME]` tables (`producers.settings`): what each hook keeps, its field mapping, its
signature check and its position (the ids it delivered), so that a delivery sent again is not
written twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from pipeline.models import Mention
from producers.follow import Position
from producers.mapping import FieldPath, RecordMapper
from producers.settings import HookSettings, hook_settings

log = logging.getLogger(__name__)
HOOKS_PATH = "/v1/hooks/"
SIGNATURE_PREFIX = "sha256="
Numbered = list[tuple[int, Mention]]  # mentions with their place in the delivery


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
        self.lock = asyncio.Lock()
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
