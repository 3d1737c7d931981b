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
        moved (with a single lane: if the watermark did)."""
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

    def lane_time(self, lane: int) -> int | None:
        """The watermark of one lane's own state (a partition's engine).

        An active lane follows its own progress, so what it closes depends only on its input.
        An idle one also follows the others (`current`), so a quiet partition's buckets still
        close as time passes.
        """
        progress = self._progress.get(lane)
        own = None if progress is None else progress - self.allowed_lateness
        if lane not in self._idle:
            return own
        shared = self.current()
        if own is None or shared is None:
            return shared if own is None else own
        return max(own, shared)

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
