"""`buzzwatch desk` on the real broker, and `buzzwatch queue` against it: incidents from the
alerts topic, the queue from the mentions topic, statuses set over HTTP into the crisis log,
and a restart that rebuilds the same desk from the log without logging anything twice."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from openapi_spec_validator import validate

from pipeline.crisis_log import CrisisLog
from pipeline.models import AlertEvent
from pipeline.synthetic import write_jsonl
from tests.broker.kafka_broker import create_topic
from tests.helpers import buzzwatch, produce
from tests.ingest_service import call, metric
from tests.servers import binary, free_port, run_tool, running
from tests.test_desk import BRAND, HANDLE, crisis_stream, run_desk

TOKEN = "desk-secret-token"
SETTLE_SECONDS = 120.0


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[AlertEvent], Path]:
    """The stream as a file, its alerts and its crisis log from the embedded replay."""
    directory = tmp_path_factory.mktemp("desk-embedded")
    mentions = crisis_stream()
    stream = directory / "mentions.jsonl"
    with stream.open("w", encoding="utf-8") as sink:
        write_jsonl(mentions, sink)
    _, events = run_desk(mentions, directory / "log")
    return stream, events, directory / "log"


@pytest.fixture
def topics(kafka_bootstrap: str, embedded: tuple[Path, list[AlertEvent], Path]) -> tuple[str, str]:
    """A mentions topic and an alerts topic holding the stream and its alert events."""
    stream, events, _ = embedded
    suffix = uuid.uuid4().hex[:8]
    mentions_topic, alerts_topic = f"desk-mentions-{suffix}", f"desk-alerts-{suffix}"
    create_topic(kafka_bootstrap, mentions_topic, partitions=3)
    create_topic(kafka_bootstrap, alerts_topic, partitions=3)
    produce(stream, mentions_topic, kafka_bootstrap)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for event in events:
        producer.send(alerts_topic, event.to_json().encode(), key=event.brand.encode())
    producer.flush(timeout=30)
    producer.close()
    return mentions_topic, alerts_topic


@pytest.fixture
def desk_config(tmp_path: Path, kafka_bootstrap: str, topics: tuple[str, str]) -> Path:
    mentions_topic, alerts_topic = topics
    config = tmp_path / "desk.toml"
    config.write_text(
        f'[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\n'
        f'mentions_topic = "{mentions_topic}"\nalerts_topic = "{alerts_topic}"\n'
        f'[desk]\ngroup_id = "desk-{uuid.uuid4().hex[:8]}"\n'
        f'[brands."{BRAND}"]\nhandles = ["{HANDLE}"]\n',
        encoding="utf-8",
    )
    return config


def running_desk(config: Path, log_dir: Path, port: int, log: Path) -> Any:
    command = [sys.executable, "-m", "buzzwatch", "desk", "--config", str(config)]
    command += ["--log-dir", str(log_dir), "--address", "127.0.0.1", "--port", str(port)]
    return running(command, f"http://127.0.0.1:{port}/healthz", log)


def settled_lines(log_dir: Path) -> int:
    """Lines of the crisis log once the desk has logged an ended incident and nothing more
    for a few seconds (bounded)."""
    deadline, last, stable_since = time.monotonic() + SETTLE_SECONDS, -1, time.monotonic()
    while time.monotonic() < deadline:
        files = list(log_dir.glob("*.jsonl"))
        lines = sum(len(path.read_text().splitlines()) for path in files)
        ended = any('"kind":"resolved"' in path.read_text() for path in files)
        if lines != last:
            last, stable_since = lines, time.monotonic()
        elif ended and time.monotonic() - stable_since >= 5:
            return lines
        time.sleep(0.5)
    pytest.fail(f"the desk's log did not settle: {last} lines", pytrace=False)


@pytest.fixture
def desk(
    desk_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    monkeypatch.setenv("BUZZWATCH_DESK_TOKENS", TOKEN)
    port, log_dir = free_port(), tmp_path / "crisis-log"
    with running_desk(desk_config, log_dir, port, tmp_path / "desk.log"):
        settled_lines(log_dir)
        yield f"127.0.0.1:{port}", log_dir


def api(where: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    raw = None if body is None else json.dumps(body).encode()
    status, _, answer = call(where, method, path, raw, headers)
    return status, answer


def test_the_desk_logs_from_kafka_what_the_embedded_replay_logs(
    desk: tuple[str, Path], embedded: tuple[Path, list[AlertEvent], Path]
) -> None:
    where, log_dir = desk
    _, events, embedded_dir = embedded
    kafka_log, local_log = CrisisLog(log_dir), CrisisLog(embedded_dir)
    assert kafka_log.incidents() == local_log.incidents()
    for incident in local_log.incidents():
        ours, theirs = kafka_log.read(incident), local_log.read(incident)
        assert [e.data for e in ours if e.kind in ("opened", "alert")] == [
            e.data for e in theirs if e.kind in ("opened", "alert")
        ]
        for kind in ("reply", "communication"):
            assert [e.data for e in ours if e.kind == kind] == [
                e.data for e in theirs if e.kind == kind
            ]
        queued = [{e.data["id"] for e in log if e.kind == "queued"} for log in (ours, theirs)]
        assert len(queued[0] ^ queued[1]) <= max(2, len(queued[1]) // 50)  # the lateness edge
    status, answer = api(where, "GET", "/v1/incidents")
    assert status == 200
    assert {i["id"] for i in answer["incidents"]} == set(local_log.incidents())
    assert {e.id for e in events if e.state == "firing"} >= set(local_log.incidents())


def test_queue_statuses_are_set_over_http_and_by_the_cli_and_logged(
    desk: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    where, log_dir = desk
    (incident,) = CrisisLog(log_dir).incidents()
    assert call(where, "GET", f"/v1/incidents/{incident}/queue")[0] == 401
    status, _, document = call(where, "GET", "/openapi.json")  # generated, and valid
    assert status == 200 and "/v1/incidents/{incident}/queue/{person}" in document["paths"]
    validate(document)
    status, queue = api(where, "GET", f"/v1/incidents/{incident}/queue")
    assert status == 200 and queue["brand"] == BRAND
    items = queue["queue"]
    assert any(item["status"] == "replied" and item["response_seconds"] for item in items)
    person = next(item["person"] for item in items if item["status"] == "open")
    path = f"/v1/incidents/{incident}/queue/{person}"
    assert api(where, "POST", path, {"status": "deleted"})[0] == 422
    assert api(where, "POST", path, ["skipped"])[0] == 422
    for length in ("abc", "-1", "1" * 40, "1" * 19):
        curl = [binary("curl", "curl"), "-s", "-o", "/dev/null", "-w", "%{http_code}"]
        headers = ["-H", f"Authorization: Bearer {TOKEN}", "-H", f"Content-Length: {length}"]
        curled = run_tool([*curl, *headers, "--data", "{}", f"http://{where}{path}"])
        # a Content-Length that is not a number (or of over 20 digits) breaks the message's
        # framing: the server's parser answers 400 and closes (RFC 9112, 6.3)
        assert curled == ("413" if length.isdecimal() and len(length) <= 20 else "400")
    assert (
        api(where, "POST", f"/v1/incidents/{incident}/queue/x:nobody", {"status": "open"})[0] == 404
    )
    status, marked = api(where, "POST", path, {"status": "skipped", "note": "called them"})
    assert status == 200 and marked["status"] == "skipped"
    monkeypatch.setenv("BUZZWATCH_DESK_TOKEN", TOKEN)
    other = next(i["person"] for i in items if i["status"] == "open" and i["person"] != person)
    url = f"http://{where}"
    buzzwatch("queue", incident, "--url", url, "--mark", other, "--status", "replied")
    listing = buzzwatch("queue", "--all", "--url", url).stdout
    assert incident in listing and BRAND in listing
    shown = json.loads(buzzwatch("queue", incident, "--url", url, "--json").stdout)
    statuses = {item["person"]: item["status"] for item in shown["queue"]}
    assert (statuses[person], statuses[other]) == ("skipped", "replied")
    assert metric(where, 'buzzwatch_desk_requests_total{code="401",path="other"}') == 1
    assert metric(where, 'buzzwatch_desk_requests_total{code="200",path="/healthz"}') >= 1
    entries = CrisisLog(log_dir).read(incident)
    marks = [e.data for e in entries if e.kind == "status"]
    assert [(m["person"], m["status"], m["by"]) for m in marks] == [
        (person, "skipped", "http"),
        (other, "replied", "http"),
    ]


def test_a_restarted_desk_rebuilds_its_queue_and_logs_nothing_twice(
    desk_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUZZWATCH_DESK_TOKENS", TOKEN)
    log_dir = tmp_path / "crisis-log"
    port = free_port()
    with running_desk(desk_config, log_dir, port, tmp_path / "first.log"):
        lines = settled_lines(log_dir)
        (incident,) = CrisisLog(log_dir).incidents()
        before = api(f"127.0.0.1:{port}", "GET", f"/v1/incidents/{incident}/queue")[1]
    port = free_port()
    with running_desk(desk_config, log_dir, port, tmp_path / "second.log"):
        time.sleep(5)
        after = api(f"127.0.0.1:{port}", "GET", f"/v1/incidents/{incident}/queue")[1]
        assert settled_lines(log_dir) == lines
    assert after == before
    CrisisLog(log_dir).read(incident)  # the chain still holds
