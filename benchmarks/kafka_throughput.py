"""`buzzwatch detect` against a bare kafka-python consume loop, on the same broker and topic,
and two detector processes against one, all in the same run.

    python -m benchmarks.kafka_throughput

The broker is the test suite's single-node KRaft broker on loopback (or the one named by
$BUZZWATCH_KAFKA_BOOTSTRAP). The 100,000-mention file is produced once onto a topic with two
partitions. The bare loop polls every record with kafka-python's defaults and does nothing
with it. A detector run is timed from its first committed offsets to the last (its start-up
and group join left out), so the figure is its steady throughput: decode, score, detect,
checkpoint and commit, exactly once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from benchmarks.common import mention_file
from tests.broker.kafka_broker import KafkaBroker, create_topic
from tests.servers import free_port

PARTITIONS = 2
TIMEOUT_S = 600.0
PROGRESS_EVERY_S = 0.25


@contextlib.contextmanager
def broker() -> Iterator[str]:
    bootstrap = os.environ.get("BUZZWATCH_KAFKA_BOOTSTRAP")
    if bootstrap:
        yield bootstrap
        return
    with KafkaBroker() as local:
        yield local.bootstrap


def bare_loop(bootstrap: str, topic: str, total: int) -> float:
    """Records per second of a plain poll loop, from its first record to its last."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    received, first = 0, None
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while received < total and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                if first is None:
                    first = time.perf_counter()
                received += len(records)
    finally:
        consumer.close()
    if received < total or first is None:
        raise RuntimeError(f"bare loop read {received} of {total} records")
    return total / (time.perf_counter() - first)


def committed(bootstrap: str, group: str, topic: str) -> int:
    """Mentions whose offsets the group has committed (0 while it has no coordinator yet)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    except KafkaError:
        return 0
    finally:
        admin.close()
    return sum(max(0, o.offset) for tp, o in offsets.items() if tp.topic == topic)


def detectors(bootstrap: str, topic: str, total: int, processes: int, logs: Path) -> float:
    """Mentions per second of `processes` detectors in one group, from the first committed
    offsets to the last."""
    group = f"bench-{uuid.uuid4().hex[:8]}"
    alerts, dead = f"{group}-alerts", f"{group}-dlq"
    for name in (alerts, dead):
        create_topic(bootstrap, name, partitions=PARTITIONS)
    command = [sys.executable, "-m", "buzzwatch", "detect", "--bootstrap-servers", bootstrap]
    command += ["--topic", topic, "--alerts-topic", alerts, "--dead-letter-topic", dead]
    command += ["--group-id", group, "--metrics-address", "127.0.0.1", "--metrics-port"]
    running = []
    try:
        for n in range(processes):
            with (logs / f"{group}-{n}.log").open("wb") as log:
                port = [str(free_port())]
                running.append(subprocess.Popen(command + port, stdout=log, stderr=log))
        start: tuple[float, int] | None = None
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            done = committed(bootstrap, group, topic)
            if done and start is None:
                start = (time.perf_counter(), done)
            if done >= total and start is not None:
                return (total - start[1]) / (time.perf_counter() - start[0])
            if any(p.poll() is not None for p in running):
                raise RuntimeError(f"a detector exited; see {logs}")
            time.sleep(PROGRESS_EVERY_S)
        raise RuntimeError(f"detectors did not finish within {TIMEOUT_S:.0f} s; see {logs}")
    finally:
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            process.wait(timeout=90)


def main() -> None:
    path = mention_file()
    total = sum(1 for _ in path.open("rb"))
    with broker() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        topic = f"bench-mentions-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, topic, partitions=PARTITIONS)
        buzzwatch = str(Path(sys.executable).with_name("buzzwatch"))
        produce = [buzzwatch, "produce", str(path), "--topic", topic]
        produce += ["--bootstrap-servers", bootstrap]
        subprocess.run(produce, check=True, capture_output=True)
        bare = bare_loop(bootstrap, topic, total)
        print(
            f"bare consume loop: {bare:,.0f} records/s ({total} records, {PARTITIONS} partitions)"
        )
        one = detectors(bootstrap, topic, total, 1, Path(tmp))
        print(f"one detector: {one:,.0f} mentions/s, {one / bare:.0%} of the bare loop")
        two = detectors(bootstrap, topic, total, 2, Path(tmp))
        print(f"two detector processes: {two:,.0f} mentions/s, {two / one:.2f}× one detector")


if __name__ == "__main__":
    main()
