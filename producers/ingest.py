"""`buzzwatch ingest`: mentions over HTTP onto the mentions topic.

`POST /v1/mentions` takes one mention (a JSON object) or a batch (a JSON array), with a bearer
token: 202 only once Kafka has acknowledged every record of it; 422 with each invalid field
(nothing written); 429 or 503 when it cannot be taken now (never a silent loss: a 503 may
follow a partial write, and the retry it asks for is safe, as the engine counts an id once).
`GET /healthz`, `/metrics` (Prometheus) and `/openapi.json` need no token.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, cast

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from pipeline.brands import BrandMatcher
from pipeline.models import Mention
from producers.kafka_sink import KafkaUnavailable, MentionSink
from producers.openapi import openapi_document

log = logging.getLogger(__name__)
TOKENS_ENV = "BUZZWATCH_INGEST_TOKENS"
MENTIONS_PATH = "/v1/mentions"
MAX_DETAILS = 100  # field errors listed in one 422 answer at most
RETRY_BUSY_SECONDS = 1
RETRY_KAFKA_SECONDS = 5


class IngestSettings(BaseModel):
    """The `[ingest]` table: where the service listens, who may post, and its limits."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    address: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)
    tokens: tuple[SecretStr, ...] = Field((), description="Bearer tokens accepted.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger requests get 413.")
    max_batch: int = Field(1000, ge=1, description="More mentions in one request get 413.")
    max_pending: int = Field(
        10_000, ge=1, description="Mentions waiting for Kafka at once; beyond, 429."
    )
    send_timeout_seconds: float = Field(
        10.0, ge=2, description="How long a request waits for Kafka's acknowledgement; then 503."
    )

    @model_validator(mode="after")
    def _batch_fits(self) -> IngestSettings:
        if self.max_batch > self.max_pending:
            raise ValueError("max_batch must be at most max_pending")
        return self


def ingest_settings(config: Mapping[str, Any], **overrides: Any) -> IngestSettings:
    """The `[ingest]` table, command-line values (those not None) on top, and the tokens of
    `$BUZZWATCH_INGEST_TOKENS` (comma-separated) added to the table's."""
    values = dict(config.get("ingest", {}))
    values.update({k: v for k, v in overrides.items() if v is not None})
    from_env = [t.strip() for t in os.environ.get(TOKENS_ENV, "").split(",") if t.strip()]
    values["tokens"] = [*values.get("tokens", []), *from_env]
    return IngestSettings.model_validate(values)


@dataclass
class Reply:
    """An HTTP answer: status, JSON body (or text) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False).encode()


def _error(status: int, message: str, **headers: str) -> Reply:
    return Reply(status, {"error": message}, headers)


class IngestMetrics:
    """What the service counts, in a registry of its own (served on `/metrics`)."""

    def __init__(self, sink: MentionSink) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "buzzwatch_ingest_requests",
            "HTTP requests answered, by path and status code.",
            ["path", "code"],
            registry=self.registry,
        )
        self.mentions = Counter(
            "buzzwatch_ingest_mentions",
            "Mentions posted: accepted (acknowledged by Kafka), invalid (422), too_large "
            "(413), busy (429), unavailable (503).",
            ["outcome"],
            registry=self.registry,
        )
        self.records = Counter(
            "buzzwatch_ingest_records",
            "Records sent to the mentions topic (a mention naming several brands: one each).",
            registry=self.registry,
        )
        self.seconds = Histogram(
            "buzzwatch_ingest_request_seconds",
            "Time to answer a POST of mentions, Kafka's acknowledgement included.",
            registry=self.registry,
        )
        self.pending = Gauge(
            "buzzwatch_ingest_pending_mentions",
            "Mentions waiting for Kafka's acknowledgement now.",
            registry=self.registry,
        )
        connected = Gauge(
            "buzzwatch_ingest_kafka_connected",
            "1 when the last contact with Kafka succeeded.",
            registry=self.registry,
        )
        connected.set_function(lambda: float(sink.connected))


class IngestService:
    """The answers of the HTTP API, apart from the HTTP plumbing."""

    def __init__(
        self, settings: IngestSettings, sink: MentionSink, matcher: BrandMatcher | None
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.matcher = matcher
        self.metrics = IngestMetrics(sink)
        self._tokens = [token.get_secret_value().encode() for token in settings.tokens]
        self._pending = 0
        self._lock = threading.Lock()

    def authorised(self, header: str | None) -> bool:
        """Whether an `Authorization` header carries one of the tokens (constant time)."""
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return False
        return any(hmac.compare_digest(given.strip().encode(), t) for t in self._tokens)

    def post(self, headers: Message, body: BinaryIO) -> Reply:
        """`POST /v1/mentions`, from the checks on the headers to Kafka's acknowledgement."""
        if not self.authorised(headers.get("Authorization")):
            return _error(401, "a valid bearer token is required", **{"WWW-Authenticate": "Bearer"})
        content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error(415, "send the mentions as application/json")
        length = headers.get("Content-Length", "")
        if "Transfer-Encoding" in headers or not (length.isascii() and length.isdecimal()):
            return _error(411, "a Content-Length is required")
        if int(length) > self.settings.max_body_bytes:
            return _error(413, f"body over {self.settings.max_body_bytes} bytes")
        return self._take(body.read(int(length)))

    @property
    def pending(self) -> int:
        """Mentions waiting for Kafka's acknowledgement now."""
        return self._pending

    def health(self) -> Reply:
        if self.sink.connected:
            return Reply(200, {"status": "ok", "kafka": "connected"})
        return Reply(503, {"status": "unavailable", "kafka": self.sink.problem})

    def metrics_text(self) -> Reply:
        return Reply(200, generate_latest(self.metrics.registry), content_type=CONTENT_TYPE_LATEST)

    def _take(self, raw: bytes) -> Reply:
        try:
            items = json.loads(raw)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError, JSONDecodeError
            reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)[:200]
            detail = [{"loc": ["body"], "msg": f"bad JSON: {reason}", "type": "json_invalid"}]
            return Reply(422, {"detail": detail})
        batch = items if isinstance(items, list) else [items]
        if not batch:
            return Reply(
                422, {"detail": [{"loc": ["body"], "msg": "no mentions", "type": "empty"}]}
            )
        if len(batch) > self.settings.max_batch:
            self.metrics.mentions.labels("too_large").inc(len(batch))
            return _error(
                413, f"{len(batch)} mentions in one request, at most {self.settings.max_batch}"
            )
        mentions, detail = _validate(batch)
        if detail:
            self.metrics.mentions.labels("invalid").inc(len(batch))
            return Reply(422, {"detail": detail[:MAX_DETAILS], "errors": len(detail)})
        return self._send(mentions)

    def _send(self, mentions: list[Mention]) -> Reply:
        records, matched, unbranded = [], 0, []
        for index, mention in enumerate(mentions):
            copies = [mention] if self.matcher is None else self.matcher.assign(mention)
            matched += mention.brand is None and copies[0].brand is not None
            if copies[0].brand is None:
                unbranded.append(index)
            records.extend(copies)
        with self._lock:
            if self._pending + len(mentions) > self.settings.max_pending:
                self.metrics.mentions.labels("busy").inc(len(mentions))
                message = f"over {self.settings.max_pending} mentions wait for Kafka; retry"
                return _error(429, message, **{"Retry-After": str(RETRY_BUSY_SECONDS)})
            self._pending += len(mentions)
            self.metrics.pending.set(self._pending)
        try:
            self.sink.send(records)
        except KafkaUnavailable as error:
            self.metrics.mentions.labels("unavailable").inc(len(mentions))
            return _error(503, str(error), **{"Retry-After": str(RETRY_KAFKA_SECONDS)})
        finally:
            with self._lock:
                self._pending -= len(mentions)
                self.metrics.pending.set(self._pending)
        self.metrics.mentions.labels("accepted").inc(len(mentions))
        self.metrics.records.inc(len(records))
        body = {"accepted": len(mentions), "records": len(records), "matched": matched}
        return Reply(202, {**body, "unbranded": unbranded})


def _validate(batch: list[Any]) -> tuple[list[Mention], list[dict[str, Any]]]:
    """The batch's mentions, or the field errors of its invalid ones (with their index)."""
    mentions, detail = [], []
    for index, item in enumerate(batch):
        if not isinstance(item, dict):
            kind = type(item).__name__
            detail.append(
                {
                    "index": index,
                    "loc": [],
                    "msg": f"expected a JSON object, got {kind}",
                    "type": "object_type",
                }
            )
            continue
        try:
            mentions.append(Mention.model_validate(item))
        except ValidationError as error:
            for e in error.errors(include_url=False, include_input=False, include_context=False):
                detail.append(
                    {"index": index, "loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                )
    return mentions, detail


class IngestServer(ThreadingHTTPServer):
    """The HTTP server: one thread per connection."""

    daemon_threads = True

    def __init__(self, service: IngestService) -> None:
        self.service = service
        document = Reply(200, openapi_document())
        self.routes: dict[str, Callable[[], Reply]] = {  # GET paths
            "/healthz": service.health,
            "/metrics": service.metrics_text,
            "/openapi.json": lambda: document,
        }
        super().__init__((service.settings.address, service.settings.port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may take to send its request
    server: IngestServer

    @property
    def _route(self) -> str:
        """The request's path without its query."""
        return self.path.split("?")[0]

    def do_GET(self) -> None:
        route = self.server.routes.get(self._route)
        if "Content-Length" in self.headers or "Transfer-Encoding" in self.headers:
            self.close_connection = True  # a body we do not read
        if route is not None:
            self._answer(route())
        elif self.path == MENTIONS_PATH:
            self._answer(_error(405, "POST mentions here", Allow="POST"))
        else:
            self._answer(_error(404, f"no {self.path} here"))

    def do_POST(self) -> None:
        if self._route != MENTIONS_PATH:
            self.close_connection = True  # its body is not read
            self._answer(_error(404, f"no {self.path} here"))
            return
        started = time.perf_counter()
        reply = self.server.service.post(self.headers, cast(BinaryIO, self.rfile))
        self.server.service.metrics.seconds.observe(time.perf_counter() - started)
        if reply.status in (411, 413, 401, 415):
            self.close_connection = True  # the body was not read
        self._answer(reply)

    def _answer(self, reply: Reply) -> None:
        payload = reply.payload()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        path = self._route
        known = path == MENTIONS_PATH or path in self.server.routes
        self.server.service.metrics.requests.labels(path if known else "other", reply.status).inc()

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def serve(service: IngestService, stop: threading.Event) -> None:
    """Serve until `stop` is set; then finish the requests under way and close the sink."""
    server = IngestServer(service)
    address, port = server.server_address[:2]
    log.info("ingest: listening on http://%s:%s%s", address, port, MENTIONS_PATH)
    service.sink.start()
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    stop.wait()
    server.shutdown()  # no new requests; those under way get their answer from Kafka:
    deadline = time.monotonic() + service.settings.send_timeout_seconds
    while service.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    server.server_close()
    service.sink.close()
