"""The crisis log: an append-only record per incident, never edited in place, never deleted.

Each incident is one JSON-lines file, `<incident>.jsonl`, in the log directory. A line is a
`LogEntry`: its number in the incident (`seq`), the event time it is about, its kind and data,
and a SHA-256 `hash` over the previous line's hash and its own content, so any edit, removal
or reordering of earlier lines shows when the file is read (`LogBroken`). The store only ever
opens files to append; nothing in buzzwatch rewrites or deletes them.

Kinds of entries (the `data` each carries is documented in docs/guides/ops.md, "The crisis desk"):
`opened`, `alert`, `queued`, `communication`, `reply`, `status`, `defender`, `curve`, `peak`,
`resolved`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.models import iso_utc

EntryKind = Literal[
    "opened",
    "alert",
    "queued",
    "communication",
    "reply",
    "status",
    "defender",
    "curve",
    "peak",
    "resolved",
]
_INCIDENT = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry before it is written: which incident, what, about when."""

    incident: str
    kind: EntryKind
    at: datetime
    data: dict[str, Any]


class LogEntry(BaseModel):
    """One written line of an incident's log."""

    model_config = ConfigDict(frozen=True)

    incident: str
    seq: int = Field(ge=0, description="Its number in the incident's log, from 0.")
    at: datetime = Field(description="Event time the entry is about (UTC).")
    kind: EntryKind
    data: dict[str, Any]
    hash: str = Field(description="SHA-256 of the previous entry's hash and this entry.")

    def line(self) -> str:
        return json.dumps(
            {**self.model_dump(mode="json"), "at": iso_utc(self.at)},
            ensure_ascii=False,
            separators=(",", ":"),
        )


class LogBroken(ValueError):
    """An incident's log was edited, truncated mid-line or reordered."""


def chain_hash(previous: str, incident: str, seq: int, at: str, kind: str, data: Any) -> str:
    body = json.dumps([previous, incident, seq, at, kind, data], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


class CrisisLog:
    """The log directory: appends entries, reads and verifies incidents."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._tails: dict[str, tuple[int, str]] = {}  # incident -> (next seq, last hash)

    def path(self, incident: str) -> Path:
        if not _INCIDENT.match(incident):
            raise ValueError(f"not an incident id: {incident!r}")
        return self.directory / f"{incident}.jsonl"

    def incidents(self) -> list[str]:
        """Ids of the incidents logged, in the order their logs were started."""
        paths = sorted(self.directory.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name))
        first_lines = []
        for path in paths:
            with path.open(encoding="utf-8") as handle:
                head = handle.readline()
            if head.strip():
                first = LogEntry.model_validate_json(head)
                first_lines.append((first.at, first.incident))
        return [incident for _, incident in sorted(first_lines)]

    def append(self, entries: Iterable[Entry]) -> list[LogEntry]:
        """Write entries at the end of their incidents' logs (flushed and synced)."""
        written: list[LogEntry] = []
        by_incident: dict[str, list[Entry]] = {}
        for entry in entries:
            by_incident.setdefault(entry.incident, []).append(entry)
        for incident, batch in by_incident.items():
            seq, previous = self._tail(incident)
            lines = []
            for entry in batch:
                at = iso_utc(entry.at)
                digest = chain_hash(previous, incident, seq, at, entry.kind, entry.data)
                logged = LogEntry(
                    incident=incident,
                    seq=seq,
                    at=entry.at,
                    kind=entry.kind,
                    data=entry.data,
                    hash=digest,
                )
                lines.append(logged.line() + "\n")
                written.append(logged)
                seq, previous = seq + 1, digest
            with self.path(incident).open("a", encoding="utf-8") as handle:
                handle.write("".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
            self._tails[incident] = (seq, previous)
        return written

    def read(self, incident: str) -> list[LogEntry]:
        """An incident's entries, checked line by line against the hash chain."""
        return list(self._verified(incident))

    def _verified(self, incident: str) -> Iterator[LogEntry]:
        previous = ""
        path = self.path(incident)
        if not path.exists():
            return
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle):
                if not line.endswith("\n"):
                    raise LogBroken(f"{path.name}: line {number + 1} is cut short")
                entry = LogEntry.model_validate_json(line)
                expected = chain_hash(
                    previous, incident, number, iso_utc(entry.at), entry.kind, entry.data
                )
                if entry.incident != incident or entry.seq != number or entry.hash != expected:
                    raise LogBroken(f"{path.name}: line {number + 1} does not follow the chain")
                previous = entry.hash
                yield entry

    def _tail(self, incident: str) -> tuple[int, str]:
        tail = self._tails.get(incident)
        if tail is None:
            entries = self.read(incident)
            tail = (len(entries), entries[-1].hash if entries else "")
        return tail
