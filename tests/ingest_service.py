"""A running `buzzwatch ingest` for the tests, on a free loopback port, and a client for it."""

from __future__ import annotations

import http.client
import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.broker.kafka_broker import create_topic
from tests.servers import free_port, running


@contextmanager
def running_ingest(
    config: str, tmp_path: Path, bootstrap: str, topic: str, ready: str = "/healthz"
) -> Iterator[tuple[str, Any]]:
    """`buzzwatch ingest` with the configuration text `config`, until the block ends, once
    `ready` answers 200: (host:port, process)."""
    config_file = tmp_path / "ingest.toml"
    config_file.write_text(config, encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-m", "buzzwatch", "ingest", "--config", str(config_file)]
    command += ["--address", "127.0.0.1", "--port", str(port)]
    command += ["--bootstrap-servers", bootstrap, "--topic", topic]
    where = f"127.0.0.1:{port}"
    with running(command, f"http://{where}{ready}", tmp_path / "ingest.log") as process:
        yield where, process


def call(
    where: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
) -> tuple[int, http.client.HTTPMessage, Any]:
    """One request on a fresh connection: (status, headers, decoded JSON or text)."""
    connection = http.client.HTTPConnection(where, timeout=30)
    try:
        sent: Any = iter([body or b""]) if chunked else body
        connection.request(method, path, body=sent, headers=headers or {}, encode_chunked=chunked)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    return response.status, response.headers, json.loads(raw) if is_json else raw.decode()


def metric(where: str, line_start: str) -> float:
    """The value of the first metrics line starting with `line_start`."""
    _, _, text = call(where, "GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {line_start} in:\n{text}")


def new_topic(bootstrap: str) -> str:
    """A new topic of 3 partitions."""
    topic = f"ingest-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, partitions=3)
    return topic
