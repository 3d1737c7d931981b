"""Crashes, rebalances, a broker restart and SIGTERM while the detector works through a
replayed crisis stream: the alerts topic, read committed, must hold exactly the alert events
of an uninterrupted run, each once.

The stream is the demo's (4 brands, 15,577 mentions, 3 partitions). The detector takes 10
records per poll, so its work spans many commits and interruptions land in the middle of it.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from pipeline.engine import Engine
from pipeline.records import open_input, read_jsonl
from pipeline.replay import replay
from pipeline.synthetic import SAMPLE_PATH
from tests.broker.kafka_broker import KafkaBroker, create_topic
from tests.helpers import produce, read_topic
from tests.servers import free_port

CONFIG = "[kafka]\nmax_poll_records = 10\n"
PROGRESS_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0
RESTORED = re.compile(r"partition (\d+): (\d+) brands restored")


@pytest.fixture(scope="module")
def uninterrupted() -> list[dict[str, Any]]:
    """The demo's alert events from the embedded replay (the same engine, no broker)."""
    events = demo_alerts(Engine())
    assert len(events) >= 10, "the demo stream must raise alerts"
    return events


def demo_alerts(engine: Engine) -> list[dict[str, Any]]:
    """The demo's alert events replayed through `engine`, as JSON, in `alert_order`."""
    events: list[Any] = []
    with open_input(SAMPLE_PATH) as stream:
        replay(read_jsonl(stream), engine, events.append)
    return sorted((json.loads(e.to_json()) for e in events), key=alert_order)


def alert_order(event: dict[str, Any]) -> tuple[str, ...]:
    return (event["at"], event["brand"], event["kind"], event["state"])


@dataclass
class Stream:
    """The demo produced onto fresh topics, and detectors started on them as subprocesses."""

    bootstrap: str
    tmp: Path
    filled: bool = True  # the demo produced before any detector starts
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    runs: list[Path] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        for topic in (self.mentions, self.alerts, self.dead_letters):
            create_topic(self.bootstrap, topic, partitions=3)
        self.config = self.tmp / "detector.toml"
        self.config.write_text(CONFIG)
        self.total = 0
        if self.filled:
            self.fill()

    def fill(self) -> None:
        """`buzzwatch produce` the demo, at full speed."""
        produce(SAMPLE_PATH, self.mentions, self.bootstrap)
        self.total = sum(self._ends().values())

    @property
    def mentions(self) -> str:
        return f"mentions-{self.name}"

    @property
    def alerts(self) -> str:
        return f"alerts-{self.name}"

    @property
    def dead_letters(self) -> str:
        return f"dlq-{self.name}"

    @property
    def group(self) -> str:
        return f"detector-{self.name}"

    def start(self, instance_id: str | None = None) -> subprocess.Popen[bytes]:
        log = self.tmp / f"run-{len(self.runs)}.log"
        self.runs.append(log)
        self.ports.append(free_port())
        command = [
            sys.executable,
            "-m",
            "buzzwatch",
            "detect",
            "--config",
            str(self.config),
            "--bootstrap-servers",
            self.bootstrap,
            "--topic",
            self.mentions,
            "--alerts-topic",
            self.alerts,
            "--dead-letter-topic",
            self.dead_letters,
            "--group-id",
            self.group,
            "--metrics-port",
            str(self.ports[-1]),
            "--metrics-address",
            "127.0.0.1",
        ]
        if instance_id:
            command += ["--instance-id", instance_id]
        with log.open("wb") as out:
            return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def launch(
        self, running: list[subprocess.Popen[bytes]], instance_id: str | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a detector, note it in `running` and wait until it has joined."""
        detector = self.start(instance_id)
        running.append(detector)
        self.wait_started(detector)
        return detector

    def wait_started(self, detector: subprocess.Popen[bytes]) -> None:
        """Wait until the last detector started has joined (its signal handlers are set)."""
        deadline = time.monotonic() + PROGRESS_TIMEOUT_S
        while time.monotonic() < deadline and detector.poll() is None:
            if "detecting on" in self.runs[-1].read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise AssertionError(f"the detector did not start\n{self.logs()}")

    def committed(self) -> int:
        """Mentions whose offsets the group has committed, over all partitions."""
        deadline = time.monotonic() + PROGRESS_TIMEOUT_S
        while True:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
            try:
                offsets = admin.list_group_offsets({self.group: None})[self.group]
                break
            except KafkaError:  # no group coordinator yet (a new broker, a new group)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
            finally:
                admin.close()
        return sum(max(0, o.offset) for tp, o in offsets.items() if tp.topic == self.mentions)

    def wait_for_progress(self, beyond: int) -> int:
        """Wait until more than `beyond` mentions are committed (or all are)."""
        deadline = time.monotonic() + PROGRESS_TIMEOUT_S
        while time.monotonic() < deadline:
            done = self.committed()
            if done > beyond or done == self.total:
                return done
            time.sleep(0.2)
        raise AssertionError(f"no progress beyond {beyond} in {PROGRESS_TIMEOUT_S:.0f} s")

    def published(self, want: int) -> list[dict[str, Any]]:
        """The alert events a read_committed consumer sees, in event order."""
        records = read_topic(self.bootstrap, self.alerts, want, patience=5, deadline=240)
        return sorted((json.loads(r.value) for r in records), key=alert_order)

    def metrics(self) -> str:
        """The exposition of the last detector started."""
        url = f"http://127.0.0.1:{self.ports[-1]}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    def logs(self) -> str:
        return "".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in self.runs)

    def restored_brands(self) -> int:
        """Brands restored from checkpoints, over all runs' logs."""
        return sum(int(m[1]) for log in self.runs for m in RESTORED.findall(log.read_text()))

    def _ends(self) -> dict[TopicPartition, int]:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        try:
            tps = [TopicPartition(self.mentions, p) for p in range(3)]
            return dict(consumer.end_offsets(tps))
        finally:
            consumer.close()


def stop(detector: subprocess.Popen[bytes]) -> int:
    """SIGTERM, and the exit code (the detector finishes its batch, commits and exits)."""
    detector.send_signal(signal.SIGTERM)
    return detector.wait(timeout=STOP_TIMEOUT_S)


def kill(detector: subprocess.Popen[bytes]) -> None:
    detector.kill()  # SIGKILL: no flush, no commit, no goodbye to the group
    detector.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def reaped(detectors: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Kill whatever detector a failed test leaves running."""
    try:
        yield
    finally:
        for detector in detectors:
            if detector.poll() is None:
                kill(detector)


def finish(stream: Stream, uninterrupted: list[dict[str, Any]], *last: Any) -> None:
    """Wait until the alerts are out, stop the last detectors, then compare all they left."""
    stream.published(len(uninterrupted))
    for detector in last:
        assert stop(detector) == 0, stream.logs()
    compare(stream, stream.published(len(uninterrupted)), uninterrupted)


def compare(
    stream: Stream, published: list[dict[str, Any]], uninterrupted: list[dict[str, Any]]
) -> None:
    lost = [e for e in uninterrupted if e not in published]
    extra = [e for e in published if e not in uninterrupted]
    assert not lost and not extra, (
        f"lost {[alert_order(e) for e in lost]}, "
        f"extra {[alert_order(e) for e in extra]}\n{stream.logs()}"
    )
    assert published == uninterrupted  # and none twice


def sample(metrics: str, name: str) -> float:
    """The sum of a metric's samples in an exposition."""
    values = re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", metrics, re.MULTILINE)
    assert values, name
    return sum(float(v) for v in values)


def test_kill_9_and_sigterm_at_random_points_lose_and_duplicate_no_alert(
    kafka_bootstrap: str, tmp_path: Path, uninterrupted: list[dict[str, Any]]
) -> None:
    stream = Stream(kafka_bootstrap, tmp_path)
    rng = random.Random(20261121)
    running: list[subprocess.Popen[bytes]] = []
    interrupted_at: list[int] = []
    with reaped(running):
        for attempt in range(12):
            before = stream.committed()
            detector = stream.launch(running, instance_id="detector-0")
            stream.wait_for_progress(before)
            time.sleep(rng.uniform(0.0, 0.7))
            if attempt % 3 == 2:
                assert stop(detector) == 0, stream.logs()
            else:
                kill(detector)
            interrupted_at.append(stream.committed())
        mid_stream = [done for done in interrupted_at if 0 < done < stream.total]
        assert len(mid_stream) >= 7, (interrupted_at, stream.total)
        last = stream.launch(running, instance_id="detector-0")
        stream.published(len(uninterrupted))
        done = stream.committed()
        while done < stream.total:  # its last checkpoint is written with its last offsets
            done = stream.wait_for_progress(done)
        metrics = stream.metrics()
        assert stop(last) == 0, stream.logs()
    compare(stream, stream.published(len(uninterrupted)), uninterrupted)
    # the baselines went on from checkpoints, and the metrics tell how much and how fast
    assert stream.restored_brands() > 0
    assert sample(metrics, "buzzwatch_state_restored_brands") > 0
    assert sample(metrics, "buzzwatch_state_restored_bytes") > 0
    assert sample(metrics, "buzzwatch_state_restore_seconds_count") >= 1
    if interrupted_at[-1] < stream.total:  # else the last run had nothing left to write
        assert sample(metrics, "buzzwatch_state_written_bytes_total") > 0


def test_a_rebalance_midway_hands_state_over(
    kafka_bootstrap: str, tmp_path: Path, uninterrupted: list[dict[str, Any]]
) -> None:
    """One detector starts, a second joins, the first leaves, a third joins."""
    stream = Stream(kafka_bootstrap, tmp_path)
    running: list[subprocess.Popen[bytes]] = []
    third = stream.total // 3
    with reaped(running):
        first = stream.launch(running)
        stream.wait_for_progress(stream.total // 10)
        second = stream.launch(running)
        stream.wait_for_progress(third)
        leaving_at = stream.committed()
        assert stop(first) == 0, stream.logs()
        assert leaving_at < stream.total, "the stream ended before the first left"
        stream.wait_for_progress(2 * third)
        joined = stream.launch(running)
        finish(stream, uninterrupted, second, joined)
    assert stream.restored_brands() > 0, stream.logs()


def test_the_detector_rides_out_a_broker_restart(
    tmp_path: Path, uninterrupted: list[dict[str, Any]]
) -> None:
    with KafkaBroker() as broker:
        stream = Stream(broker.bootstrap, tmp_path)
        running: list[subprocess.Popen[bytes]] = []
        with reaped(running):
            detector = stream.launch(running)
            stream.wait_for_progress(stream.total // 4)
            broker.halt()
            time.sleep(5.0)
            assert detector.poll() is None, stream.logs()  # waiting, not crashed
            broker.resume()
            finish(stream, uninterrupted, detector)
            assert stream.committed() == stream.total


def test_a_stalled_detector_that_comes_back_commits_nothing_stale(
    kafka_bootstrap: str, tmp_path: Path, uninterrupted: list[dict[str, Any]]
) -> None:
    """A zombie: one of two detectors freezes past its session timeout (10 s), the other takes
    its partitions over; when it wakes up, its unfinished work must not reach the topic."""
    stream = Stream(kafka_bootstrap, tmp_path)
    running: list[subprocess.Popen[bytes]] = []
    with reaped(running):
        frozen = stream.launch(running)
        stream.wait_for_progress(stream.total // 10)
        other = stream.launch(running)
        frozen_at = stream.wait_for_progress(stream.total // 4)
        frozen.send_signal(signal.SIGSTOP)  # its work since the last commit left open
        assert frozen_at < stream.total, "the stream ended before the freeze"
        try:
            time.sleep(15.0)
        finally:
            frozen.send_signal(signal.SIGCONT)
        finish(stream, uninterrupted, frozen, other)
    log = stream.runs[0].read_text(errors="replace")
    assert "session failed" in log, "the woken detector should have started a new session"
