"""`buzzwatch ingest` over real HTTP against the real broker: acceptance, refusals, limits,
backpressure and Kafka outages, health, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
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

import h2.config
import h2.connection
import h2.settings
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from openapi_spec_validator import validate
from pydantic import SecretStr
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from buzzwatch import web
from pipeline.models import Mention
from producers.ingest import IngestService, ingest_app, openapi_document
from producers.kafka_sink import MentionSink
from producers.settings import TOKENS_ENV, IngestSettings
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


CHUNKED = b"Transfer-Encoding: chunked\r\n\r\n", b"2\r\n{}\r\n" * 1000, b"0\r\n\r\n"
SIZED = b"Content-Length: 7007\r\n\r\n", b"{" * 7000, b"}" * 7
STILL_SENDING = {
    "chunked": ("/v1/mentions", CHUNKED, b"411 ", b'{"error":"a Content-Length is required"}'),
    "no-route": ("/nowhere", SIZED, b"404 ", b'{"error":"Not Found"}'),
    "trailing-slash": ("/v1/mentions/", SIZED, b"404 ", b'{"error":"Not Found"}'),
    "bad-hook-name": ("/v1/hooks/a.b", SIZED, b"422 ", b'{"error":"path.name: String should'),
}


@pytest.mark.parametrize("case", STILL_SENDING, ids=list(STILL_SENDING))
def test_a_client_still_sending_a_refused_body_gets_the_answer(
    tmp_path: Path, kafka_bootstrap: str, case: str
) -> None:
    """The server refuses a request on its head; the client sends its body after that, as a
    slow client or a large upload does, and still reads the answer (not a reset). No redirect
    either: a trailing slash is a path of its own."""
    path, (framing, body, last), status, answer_end = STILL_SENDING[case]
    topic = new_topic(kafka_bootstrap)
    with ingest(tmp_path, kafka_bootstrap, topic) as (where, _):
        host, port = where.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as client:
            client.sendall(
                b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\n"
                b"Authorization: Bearer " + TOKEN.encode() + b"\r\n" + framing
            )
            time.sleep(0.5)  # the answer is decided, the connection would be closed by now
            client.sendall(body)  # a closed server answers with a reset...
            time.sleep(0.5)
            client.sendall(last)  # ...and this send would fail on it
            head, content = _one_answer(client)
        assert head.startswith(b"HTTP/1.1 " + status), head
        assert answer_end in content


def _one_answer(client: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP answer's head and body (by its Content-Length), however the connection goes
    on after it."""
    answer = b""
    while b"\r\n\r\n" not in answer and (chunk := client.recv(65_536)):
        answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
    while len(content) < length and (chunk := client.recv(65_536)):
        content += chunk
    return head, content


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
        young = 'python_gc_collections_total{generation="0"}'
        before = metric(where, young)
        for n in range(300):  # a server's collector: startup frozen, young objects collected less
            assert post(where, mention(f"gc-{n}", brand="Acme"))[0] == 202
        assert metric(where, young) - before < 3


def test_a_direct_route_refuses_dependencies_and_sync_endpoints() -> None:
    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({})

    def sync(request: Request) -> JSONResponse:
        return JSONResponse({})

    app, direct = FastAPI(), web.Direct
    app.router.add_api_route("/plain", endpoint, methods=["POST"], route_class_override=direct)
    with pytest.raises(TypeError, match="/guarded: a direct route has an async endpoint, no dep"):
        guard = [Depends(lambda: None)]
        app.router.add_api_route(
            "/guarded", endpoint, dependencies=guard, route_class_override=direct
        )
    with pytest.raises(TypeError, match="/sync: a direct route has an async endpoint"):
        app.router.add_api_route("/sync", sync, methods=["POST"], route_class_override=direct)


def test_a_direct_route_is_answered_beside_fastapis_stack(caplog: pytest.LogCaptureFixture) -> None:
    async def endpoint(request: Request) -> JSONResponse:
        if request.headers.get("x-case") == "refused":
            raise web.Refused(409, "taken", {})
        if request.headers.get("x-case") == "bug":
            raise RuntimeError("a bug")
        return JSONResponse({"ok": True}, 202)

    app, stacked = web.service_app("t", "1", "t"), []
    app.router.add_api_route("/plain", endpoint, methods=["POST"], route_class_override=web.Direct)
    app.router.add_api_route("/routed", endpoint, methods=["POST"])

    @app.middleware("http")
    async def seen(request: Request, call_next: Any) -> Any:
        stacked.append(request.url.path)
        return await call_next(request)

    registry, requests = web.service_metrics("test")
    capped = web.Capped(app, 4, requests, ["/plain", "/routed"], 5.0)

    def answer(path: str, case: str = "") -> tuple[int, bytes]:
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "headers": [(b"x-case", case.encode())],
        }
        with contextlib.suppress(RuntimeError):  # the stack's error middleware raises it again
            asyncio.run(capped({**scope, "query_string": b"", "root_path": ""}, receive, send))
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    assert answer("/plain") == (202, b'{"ok":true}')
    assert answer("/plain", "refused") == (409, b'{"error":"taken"}')
    with caplog.at_level(logging.ERROR, logger="buzzwatch.web"):
        assert answer("/plain", "bug") == (500, b'{"error":"internal error"}')
    assert "RuntimeError: a bug" in caplog.text
    labels = {"path": "/plain", "code": "500"}
    assert registry.get_sample_value("buzzwatch_test_requests_total", labels) == 1
    assert stacked == []
    assert answer("/routed", "refused") == (409, b'{"error":"taken"}')
    assert answer("/routed", "bug") == (500, b'{"error":"internal error"}')
    assert stacked == ["/routed", "/routed"]
    settings = IngestSettings(tokens=(SecretStr("t"),))
    ingest = ingest_app(IngestService(settings, MentionSink({}, "m", 1.0), None, {}))
    assert set(web.Capped(ingest, 1, requests, [], 1.0).direct) == {("POST", "/v1/mentions")}


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
    """60 requests wait for a stopped broker at once: each gets its 503 after
    send_timeout_seconds (3 s), none queues behind the others, and /healthz answers meanwhile;
    a batch beyond max_pending gets 429; once the broker is back, 202 again."""
    if kafka_broker is None:
        pytest.fail("this test stops the suite's own broker: unset BUZZWATCH_KAFKA_BOOTSTRAP")
    topic = new_topic(kafka_bootstrap)
    config = CONFIG.replace("max_pending = 5", "max_pending = 64")
    with running_ingest(config, tmp_path, kafka_bootstrap, topic) as (where, _):
        assert post(where, mention("before", brand="Acme"))[0] == 202
        kafka_broker.halt()
        try:
            answers: list[tuple[float, int, str]] = []

            def waiting(index: int) -> None:
                started = time.monotonic()
                status, headers, _ = post(where, mention(f"held-{index}", brand="Acme"))
                answers.append((time.monotonic() - started, status, headers["Retry-After"]))

            holders = [threading.Thread(target=waiting, args=(i,)) for i in range(60)]
            for holder in holders:
                holder.start()
            deadline = time.monotonic() + 10
            while metric(where, "buzzwatch_ingest_pending_mentions") < 60:
                assert time.monotonic() < deadline, "the requests never waited for Kafka"
                time.sleep(0.05)
            started = time.monotonic()
            assert call(where, "GET", "/healthz")[0] in (200, 503)
            assert time.monotonic() - started < 1.0, "/healthz queued behind the waits"
            batch = [mention(f"more-{i}", brand="Acme") for i in range(5)]
            status, headers, body = post(where, batch)
            assert status == 429 and headers["Retry-After"] == "1", body
            for holder in holders:
                holder.join(timeout=30)
            assert len(answers) == 60
            assert {(status, retry) for _, status, retry in answers} == {(503, "5")}
            assert max(seconds for seconds, _, _ in answers) < 3 + 2.5
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


def test_http2_is_refused_and_a_client_that_leaves_holds_no_slot(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """curl speaking HTTP/2 from its first byte gets 505. A client that opens HTTP/2 streams
    it never reads (flow-control window 0) and leaves keeps no request slot: with
    max_connections = 2, a mention still gets 202 after it."""
    config = CONFIG.replace("[ingest]\n", "[ingest]\nmax_connections = 2\nrequest_seconds = 1\n")
    with running_ingest(config, tmp_path, kafka_bootstrap, new_topic(kafka_bootstrap)) as (
        where,
        process,
    ):
        curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_version} %{http_code}"]
        answer = subprocess.run(
            [*curl, "--http2-prior-knowledge", f"http://{where}/healthz"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert answer == "2 505"
        host, port = where.split(":")
        for _ in range(3):
            _unread_http2_streams(host, int(port), streams=10)
        deadline = time.monotonic() + 15
        status = 0
        while status != 202 and time.monotonic() < deadline:
            status = post(where, mention("after-h2", brand="Acme"))[0]
            time.sleep(0.2)
        assert status == 202
        assert metric(where, 'buzzwatch_ingest_requests_total{code="505",path="other"}') >= 1
        assert process.poll() is None


def _unread_http2_streams(host: str, port: int, streams: int) -> None:
    """Open `streams` HTTP/2 GETs with a flow-control window of 0 (no answer can be sent),
    wait a moment, and close the connection."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    with socket.create_connection((host, port), timeout=10) as connection:
        for _ in range(streams):
            stream = client.get_next_available_stream_id()
            headers = [(":method", "GET"), (":path", "/healthz"), (":scheme", "http")]
            client.send_headers(stream, [*headers, (":authority", "x")], end_stream=True)
        connection.sendall(client.data_to_send())
        time.sleep(0.5)
