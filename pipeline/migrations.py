"""Engine snapshots of earlier releases, brought to today's shape, so that an upgrade keeps
every brand warm instead of starting a new warm-up.

Each step takes a snapshot of one version to the next; `migrated` chains them. A setting that
changed between releases (or in the configuration) keeps the state too, unless it changes the
state's shape: the buckets, the rules' windows or the changes the negative runs weigh for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.settings import DetectionSettings, upgraded

SNAPSHOT_VERSION = 9
OLDEST_VERSION = 5  # the first version with a migration to the next


def _to_6(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Version 6 judges "ahead" against the latest mention counted, and remembers the last
    mention dropped as ahead; version 5 had only the closed time, a fair stand-in."""
    return {**snapshot, "version": 6, "latest": snapshot["closed_until"], "suspect": None}


def _to_7(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Version 7 reads a sample of each explanation slice's mentions where version 6 counted
    every mention's words: a brand's explanation state of version 6 is read as it is (a
    checkpoint keeps the records of brands unchanged since they were written), its slices'
    word counts left out."""
    return {**snapshot, "version": 7}


def _to_8(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Version 8 keeps each window's tumbling block in progress (`window_noise = "blocks"`):
    version 7 had none, so each window's next block starts afresh and the one in progress
    at the upgrade is not learnt."""
    return {**snapshot, "version": 8}


def _to_9(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Version 9 keeps a brand's usual vocabulary forward-decayed: each term's decayed count
    times a weight that grows as time passes, and that weight (`vocabulary_weight`); version 8
    kept the counts themselves, which are the values at weight 1 (a brand's record of version
    8 is read as it is)."""
    return {**snapshot, "version": 9}


STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    5: _to_6,
    6: _to_7,
    7: _to_8,
    8: _to_9,
}


def migrated(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot in today's shape; ValueError for a version this release cannot read."""
    version = snapshot.get("version")
    if not isinstance(version, int) or not OLDEST_VERSION <= version <= SNAPSHOT_VERSION:
        raise ValueError(
            f"unsupported snapshot version {version!r} "
            f"(this release reads {OLDEST_VERSION} to {SNAPSHOT_VERSION})"
        )
    while snapshot["version"] != SNAPSHOT_VERSION:
        snapshot = STEPS[snapshot["version"]](snapshot)
    return {**snapshot, "settings": upgraded(snapshot["settings"])}


def shape_changes(stored: DetectionSettings, current: DetectionSettings) -> list[str]:
    """The settings whose change makes state of `stored` unusable under `current`."""
    changed = []
    for key in ("bucket_seconds", "early_seconds"):
        if getattr(stored, key) != getattr(current, key):
            changed.append(key)
    for rule in ("volume", "negative"):
        if getattr(stored, rule).windows_minutes != getattr(current, rule).windows_minutes:
            changed.append(f"{rule}.windows_minutes")
    if stored.sequential.negative_changes != current.sequential.negative_changes:
        changed.append("sequential.negative_changes")
    return changed
