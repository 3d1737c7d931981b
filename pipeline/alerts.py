"""Alert lifecycle: one incident is one `firing` event and, later, one `resolved` event."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pipeline.detectors import Verdict
from pipeline.models import AlertEvent, AlertKind, Severity


def alert_id(brand: str, kind: AlertKind, started_at: int) -> str:
    """Stable id of an incident: the same input always yields the same id."""
    key = f"{brand}\x1f{kind}\x1f{started_at}".encode()
    return hashlib.sha256(key).hexdigest()[:20]


def utc(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


class AlertLifecycle:
    """The state of one (brand, kind) alert: inactive, or firing since a bucket start.

    An active alert is not fired again. It resolves after `resolve_after` closed buckets in a
    row in which every window of the rule is calm, so a spike that dips for a while does not
    flap and an incident is not resolved while any horizon still shows it.
    """

    def __init__(self, brand: str, kind: AlertKind, resolve_after: int) -> None:
        self.brand = brand
        self.kind = kind
        self._resolve_after = resolve_after
        self.started_at: int | None = None
        self._critical = False
        self._calm_streak = 0

    @property
    def active(self) -> bool:
        return self.started_at is not None

    @property
    def severity(self) -> Severity:
        return "critical" if self._critical else "warning"

    def early(self, verdict: Verdict, bucket_start: int, at: int) -> AlertEvent | None:
        """Feed a verdict on an open bucket's partial counts: it may fire, never resolve."""
        if self.started_at is not None or not verdict.fires:
            return None
        return self._fire(verdict, bucket_start, at)

    def update(self, verdict: Verdict, bucket_start: int, bucket_end: int) -> AlertEvent | None:
        """Feed one closed bucket's verdict; returns the state change it caused, if any."""
        if self.started_at is None:
            return self._fire(verdict, bucket_start, bucket_end) if verdict.fires else None
        if not verdict.calm():
            self._calm_streak = 0
            return None
        self._calm_streak += 1
        if self._calm_streak < self._resolve_after:
            return None
        started, self.started_at = self.started_at, None
        self._calm_streak = 0
        return self._event("resolved", verdict, bucket_end, started)

    def _fire(self, verdict: Verdict, bucket_start: int, at: int) -> AlertEvent:
        self.started_at = bucket_start
        self._critical = verdict.critical
        self._calm_streak = 0
        return self._event("firing", verdict, at, bucket_start)

    def _event(self, state: str, verdict: Verdict, at: int, started_at: int) -> AlertEvent:
        return AlertEvent.model_validate(
            {
                "id": alert_id(self.brand, self.kind, started_at),
                "brand": self.brand,
                "kind": self.kind,
                "state": state,
                "severity": self.severity,
                "at": utc(at),
                "started_at": utc(started_at),
                "observed": verdict.observed,
                "expected": round(verdict.expected, 4),
                "window_seconds": verdict.window_seconds,
                "score": round(verdict.score, 6),
            }
        )

    def state(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "critical": self._critical,
            "calm_streak": self._calm_streak,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.started_at = state["started_at"]
        self._critical = state["critical"]
        self._calm_streak = state["calm_streak"]
