"""Event-time watermark over several input lanes (Kafka partitions, or one file)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Watermark:
    """The event time before which no more input is expected.

    Each lane's progress is the largest event time seen on it. The watermark is the smallest
    progress among the lanes that still have input, less the allowed lateness; a lane that is
    idle (caught up) does not hold it back. When every lane is idle, the largest progress wins.
    A lane that is expected but has not delivered anything yet holds the watermark back.
    """

    allowed_lateness: int
    _progress: dict[int, int | None] = field(default_factory=dict)
    _idle: set[int] = field(default_factory=set)

    def expect(self, lane: int) -> None:
        """Declare a lane that will deliver input (holds the watermark until it does)."""
        self._progress.setdefault(lane, None)

    def forget(self, lane: int) -> None:
        """Drop a lane that is no longer ours (a revoked partition)."""
        self._progress.pop(lane, None)
        self._idle.discard(lane)

    def observe(self, lane: int, event_time: int) -> bool:
        """Record an event on a lane; the lane is active again. True if the lane's progress
        moved (with a single lane: if the watermark did).

        Input after a pause on every lane may be the start of a backfill written to all of
        them: the other lanes hold the watermark again until they are found idle anew, so the
        first lane to deliver does not carry time past what the others are about to deliver.
        """
        if lane in self._idle and self._idle >= self._progress.keys():
            self._idle.clear()
        self._idle.discard(lane)
        current = self._progress.get(lane)
        if current is None or event_time > current:
            self._progress[lane] = event_time
            return True
        return False

    def set_idle(self, lane: int) -> None:
        """Mark a lane caught up: it has no more input for now."""
        if lane in self._progress:
            self._idle.add(lane)

    def is_idle(self, lane: int) -> bool:
        return lane in self._idle

    def progress(self, lane: int) -> int | None:
        """The largest event time seen on a lane (what a checkpoint keeps)."""
        return self._progress.get(lane)

    def current(self) -> int | None:
        """The watermark in epoch seconds, or None before there is one."""
        active = [p for lane, p in self._progress.items() if lane not in self._idle]
        if active:
            if any(p is None for p in active):
                return None
            return min(p for p in active if p is not None) - self.allowed_lateness
        seen = [p for p in self._progress.values() if p is not None]
        return max(seen) - self.allowed_lateness if seen else None
