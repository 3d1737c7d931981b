"""`buzzwatch ingest` over real HTTP against the real broker: acceptance, refusals, limits,
backpressure and Kafka outages, health, metrics and the OpenAPI document."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from pipeline.models import Mention
from producers.ingest import openapi_document
from producers.settings import TOKENS_ENV
from tests.broker.kafka_broker import KafkaBroker
from tests.conftest import BROWSER_SECONDS
from tests.helpers import read_topic
from tests.ingest_service import call, metric, new_topic, running_ingest
from tests.servers import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "t0ken-for-tests"
ENV_TOKEN = "another-token-from-the-environment"
CONFIG = f"""
[ingest]
tokens = ["{TOKEN}"]
max_body_bytes = 4096
max_batch = 5
max_pending = 5
send_timeout_seconds = 3.0

[brands.Acme]
handles = ["@acme"]

[brands.Globex]
"""


def mention(ident: str, text: str = "Loving it", **extra: Any) -> dict[str, Any]:
    return {"id": ident, "created_at": "2026-03-02T10:00:00Z", "text": text, **extra}


def ingest(
    tmp_path: Path, bootstrap: str, topic: str, ready: str = "/healthz"
) -> AbstractContextManager[tuple[str, Any]]:
    """A running `buzzwatch ingest` with CONFIG: (host:port, process)."""
    return running_ingest(CONFIG, tmp_path, bootstrap, topic, ready)


def post(where: str, payload: Any, token: str = TOKEN) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return call(where, "POST", "/v1/mentions", json.dumps(payload).encode(), headers)


def test_posted_mentions_reach_the_topic_keyed_by_brand(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKENS_ENV, ENV_TOKEN)
    topic = new_topic(kafka_bootstrap)
    with ingest(tmp_path, kafka_bootstrap, topic) as (where, process):
        status, _, body = post(where, mention("one", brand="Initech"))
        assert (status, body) == (202, {"accepted": 1, "records": 1, "matched": 0, "unbranded": []})
        batch = [
            mention("two", "@ACME and Globex are both down"),  # two brands by its text
            mention("three", "Globex again", brand="Initech"),  # the source's brand wins
            mention("four", "nothing about anyone"),
        ]
        status, _, body = post(where, batch, token=ENV_TOKEN)
        assert (status, body) == (
            202,
            {"accepted": 3, "records": 4, "matched": 1, "unbranded": [2]},
        )
        assert (
            metric(where, 'buzzwatch_ingest_mentions_total{outcome="accepted",path="/v1/mentions"}')
            == 4
        )
        assert metric(where, 'buzzwatch_ingest_records_total{path="/v1/mentions"}') == 5
        assert metric(where, "buzzwatch_ingest_kafka_connected") == 1
        assert stop(process) == 0  # SIGTERM: a clean stop
    records = read_topic(kafka_bootstrap, topic, want=5, patience=1.0)
    decoded = [(Mention.model_validate_json(r.value), r.key) for r in records]
    got = sorted(decoded, key=lambda pair: (pair[0].id, pair[0].brand or ""))
    assert [(m.id, m.brand, key) for m, key in got] == [
        ("four", None, None),
        ("one", "Initech", b"Initech"),
        ("three", "Initech", b"Initech"),
        ("two", "Acme", b"Acme"),
        ("two", "Globex", b"Globex"),
    ]
    assert got[1][0] == Mention.model_validate(mention("one", brand="Initech"))


def test_a_client_still_sending_a_refused_body_gets_the_answer(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The server answers 411 on a chunked request's headers; the client sends its body after
    that, as a slow client or a large upload does, and still reads the answer."""
    topic = new_topic(kafka_bootstrap)
    with ingest(tmp_path, kafka_bootstrap, topic) as (where, _):
        host, port = where.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as client:
            client.sendall(
                b"POST /v1/mentions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            time.sleep(0.5)  # the answer is sent, the connection would be closed by now
            client.sendall(b"2\r\n{}\r\n" * 1000)  # a closed server answers with a reset...
            time.sleep(0.5)
            client.sendall(b"0\r\n\r\n")  # ...and this send would fail on it
            answer = b""
            while chunk := client.recv(65_536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 411 ")
        assert answer.endswith(b'{"error":"a Content-Length is required"}')


def test_refusals_say_why_and_write_nothing(tmp_path: Path, kafka_bootstrap: str) -> None:
    topic = new_topic(kafka_bootstrap)
    with ingest(tmp_path, kafka_bootstrap, topic) as (where, _):
        status, headers, body = post(where, mention("a"), token="wrong")
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
        status, _, _ = call(
            where, "POST", "/v1/mentions", b"{}", {"Content-Type": "application/json"}
        )
        assert status == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        status, _, body = call(
            where, "POST", "/v1/mentions", b"hi", {**auth, "Content-Type": "text/plain"}
        )
        assert (status, body) == (415, {"error": "send the mentions as application/json"})
        json_auth = {**auth, "Content-Type": "application/json"}
        status, _, _ = call(where, "POST", "/v1/mentions", b"{}", json_auth, chunked=True)
        assert status == 411
        status, _, body = post(where, mention("big", "x" * 5000))
        assert (status, body) == (413, {"error": "body over 4096 bytes"})
        status, _, body = post(where, [mention(str(i)) for i in range(6)])
        assert (status, body) == (413, {"error": "6 mentions in one request, at most 5"})

        status, _, body = call(where, "POST", "/v1/mentions", b"{oops", json_auth)
        assert status == 422 and body["detail"][0]["type"] == "json_invalid"
        ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        invalid = [
            mention("ok", brand="Acme"),
            {"id": "bad", "created_at": "someday", "author": {"followers": -1}},
            "not an object",
            {**mention("ahead", brand="Acme"), "created_at": ahead},  # Kafka would refuse it
        ]
        status, _, body = post(where, invalid)
        assert status == 422
        where_what = {(d["index"], ".".join(map(str, d["loc"])), d["type"]) for d in body["detail"]}
        assert where_what == {
            (1, "created_at", "datetime_from_date_parsing"),
            (1, "text", "missing"),
            (1, "author.id", "missing"),
            (1, "author.followers", "greater_than_equal"),
            (2, "", "object_type"),
            (3, "created_at", "future"),
        }
        assert body["errors"] == 6
        assert "more than an hour ahead of this server's clock" in body["detail"][-1]["msg"]

        assert call(where, "GET", "/v1/mentions")[0] == 405
        assert call(where, "GET", "/nowhere")[0] == 404
        status, _, body = post(where, mention("last", brand="Acme"))
        assert status == 202, body
        assert (
            metric(where, 'buzzwatch_ingest_mentions_total{outcome="invalid",path="/v1/mentions"}')
            == 4
        )
        assert metric(where, 'buzzwatch_ingest_requests_total{code="401",path="/v1/mentions"}') == 2
        assert metric(where, "process_cpu_seconds_total") > 0  # prometheus_client's collectors
        assert metric(where, "process_resident_memory_bytes") > 1e6
    records = read_topic(kafka_bootstrap, topic, want=1, patience=1.0)
    assert [Mention.model_validate_json(r.value).id for r in records] == ["last"]


def test_health_and_the_openapi_document(tmp_path: Path, kafka_bootstrap: str) -> None:
    checked_in = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert checked_in == openapi_document(), "docs/openapi.json is stale: run `make schemas`"
    validate(checked_in)
    with ingest(tmp_path, kafka_bootstrap, new_topic(kafka_bootstrap)) as (where, _):
        status, _, health = call(where, "GET", "/healthz")
        assert (status, health) == (200, {"status": "ok", "kafka": "connected"})
        status, _, served = call(where, "GET", "/openapi.json")
        assert (status, served) == (200, checked_in)


def test_without_kafka_it_answers_503_and_loses_nothing_silently(tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    with ingest(tmp_path, nowhere, "mentions", ready="/openapi.json") as (where, process):
        status, _, body = call(where, "GET", "/healthz")
        assert status == 503 and body["status"] == "unavailable"
        status, headers, body = post(where, mention("a", brand="Acme"))
        assert status == 503 and headers["Retry-After"] == "5"
        assert "Kafka" in body["error"]
        assert (
            metric(
                where, 'buzzwatch_ingest_mentions_total{outcome="unavailable",path="/v1/mentions"}'
            )
            == 1
        )
        assert stop(process) == 0


def test_a_broker_outage_gives_503_and_429_then_202_again(
    tmp_path: Path, kafka_broker: KafkaBroker | None, kafka_bootstrap: str
) -> None:
    if kafka_broker is None:
        pytest.fail("this test stops the suite's own broker: unset BUZZWATCH_KAFKA_BOOTSTRAP")
    topic = new_topic(kafka_bootstrap)
    with ingest(tmp_path, kafka_bootstrap, topic) as (where, _):
        assert post(where, mention("before", brand="Acme"))[0] == 202
        kafka_broker.halt()
        try:
            waiting: list[tuple[int, Any, Any]] = []
            batch = [mention(f"held-{i}", brand="Acme") for i in range(5)]
            holder = threading.Thread(target=lambda: waiting.append(post(where, batch)))
            holder.start()
            deadline = time.monotonic() + 10
            while metric(where, "buzzwatch_ingest_pending_mentions") < 5:
                assert time.monotonic() < deadline, "the batch never waited for Kafka"
                time.sleep(0.05)
            status, headers, body = post(where, mention("more", brand="Acme"))
            assert status == 429 and headers["Retry-After"] == "1", body
            holder.join(timeout=30)
            ((status, headers, body),) = waiting
            assert status == 503 and headers["Retry-After"] == "5", body
            assert call(where, "GET", "/healthz")[0] == 503
        finally:
            kafka_broker.resume()
        deadline, status = time.monotonic() + 60, 0
        while status != 202 and time.monotonic() < deadline:
            status = post(where, mention("after", brand="Acme"))[0]
        assert status == 202
        assert call(where, "GET", "/healthz")[0] == 200
    ids = {
        Mention.model_validate_json(r.value).id for r in read_topic(kafka_bootstrap, topic, 2, 1.0)
    }
    assert {"before", "after"} <= ids


def test_it_will_not_start_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKENS_ENV, raising=False)
    command = [sys.executable, "-m", "buzzwatch", "ingest", "--port", str(free_port())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert f"no bearer token: set [ingest] tokens or ${TOKENS_ENV}" in result.stderr


def test_requests_are_capped_and_slow_clients_cut(tmp_path: Path, kafka_bootstrap: str) -> None:
    """Two requests whose bodies do not come fill `max_connections`: a third is answered 503
    at once; the two get 408 after `request_seconds`. A connection that never finishes its
    request's head is closed by the server (Hypercorn's keep-alive timeout) with no answer."""
    config = CONFIG.replace("[ingest]\n", "[ingest]\nmax_connections = 2\nrequest_seconds = 1\n")
    topic = new_topic(kafka_bootstrap)
    with running_ingest(config, tmp_path, kafka_bootstrap, topic) as (
        where,
        process,
    ):
        host, port = where.split(":")
        half_head = socket.create_connection((host, int(port)), timeout=30)
        half_head.sendall(b"POST /v1/mentions HTTP/1.1\r\n")  # and never the rest
        slow = [_slow_body(host, int(port)) for _ in range(2)]
        time.sleep(0.3)  # both are in progress
        status, headers, body = post(where, mention("refused", brand="Acme"))
        assert (status, body) == (503, {"error": "too many requests in progress"})
        assert headers["Retry-After"] == "1"
        started = time.monotonic()
        for connection in slow:
            answer = _read_all(connection)
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert b"the body did not come within 1 s" in answer
        assert _read_all(half_head) == b""
        assert time.monotonic() - started < 10
        status, _, body = post(where, mention("after", brand="Acme"))
        assert status == 202, body
        assert metric(where, 'buzzwatch_ingest_requests_total{code="503",path="other"}') == 1
        assert metric(where, 'buzzwatch_ingest_requests_total{code="408",path="/v1/mentions"}') == 2
        assert process.poll() is None
    records = read_topic(kafka_bootstrap, topic, want=1, patience=1.0)
    assert [Mention.model_validate_json(r.value).id for r in records] == ["after"]


def _slow_body(host: str, port: int) -> socket.socket:
    """A request whose head is complete and whose body never is: in progress until cut."""
    connection = socket.create_connection((host, port), timeout=30)
    connection.sendall(
        b"POST /v1/mentions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 100\r\n\r\n{"
    )
    return connection


def _read_all(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (at most 30 s)."""
    chunks = []
    with connection:
        while chunk := connection.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def test_docs_work_offline_in_chromium_and_curl_reads_the_metrics(
    tmp_path: Path, kafka_bootstrap: str, browser: WebDriver
) -> None:
    """`/docs` is Swagger UI from the service's own files (no CDN), showing every operation of
    the generated document; `/metrics` is prometheus_client's application: OpenMetrics and
    gzip when the scraper asks for them."""
    with ingest(tmp_path, kafka_bootstrap, new_topic(kafka_bootstrap)) as (where, _):
        status, _, page = call(where, "GET", "/docs")
        assert status == 200
        assets = re.findall(r'(?:src|href|url): ?[\'"]([^\'"]+)[\'"]|(?:src|href)="([^"]+)"', page)
        linked = {link for pair in assets for link in pair if link}
        assert linked and all(link.startswith("/") for link in linked), linked
        browser.get(f"http://{where}/docs")
        WebDriverWait(browser, BROWSER_SECONDS).until(
            lambda session: (
                session.execute_script(
                    "return document.querySelectorAll('.opblock-summary-path').length"
                )
                >= 3
            )
        )
        shown = browser.execute_script(
            "return [...document.querySelectorAll('.opblock-summary-path')]"
            ".map(e => e.getAttribute('data-path'))"
        )
        assert set(shown) == set(openapi_document()["paths"])
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
        openmetrics = "Accept: application/openmetrics-text; version=1.0.0"
        answer = subprocess.run(
            [
                "curl",
                "-sS",
                "--compressed",
                "-D",
                "-",
                "-H",
                openmetrics,
                f"http://{where}/metrics",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        head, _, text = answer.partition("\n\n")  # text mode reads \r\n as \n
        assert "content-type: application/openmetrics-text" in head.lower()
        assert "content-encoding: gzip" in head.lower()
        assert "buzzwatch_ingest_kafka_connected 1.0" in text and text.endswith("# EOF\n")
