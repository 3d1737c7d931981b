"""`buzzwatch ingest`: mentions over HTTP onto the mentions topic.

`POST /v1/mentions` takes one mention (a JSON object) or a batch (a JSON array), with a bearer
token: 202 only once Kafka has acknowledged every record of it; 422 with each invalid field
(nothing written); 429 or 503 when it cannot be taken now (never a silent loss: a 503 may
follow a partial write, and the retry it asks for is safe, as the engine counts an id once).
`POST /v1/hooks/NAME` takes a configured webhook's payload (`producers/hooks.py`): its records
mapped to mentions, each id written once. `GET /healthz`, `/metrics` (Prometheus) and
`/openapi.json` need no token.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from email.message import Message
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, cast

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from pipeline.brands import BrandMatcher
from pipeline.models import Invalid, Mention
from producers.hooks import Hook, Numbered
from producers.kafka_sink import KafkaUnavailable, MentionSink, in_time
from producers.mapping import records_of
from producers.openapi import openapi_document

log = logging.getLogger(__name__)
TOKENS_ENV = "BUZZWATCH_INGEST_TOKENS"
MENTIONS_PATH = "/v1/mentions"
MAX_DETAILS = 100  # field errors listed in one 422 answer at most
RETRY_BUSY_SECONDS = 1
RETRY_KAFKA_SECONDS = 5
# After answering a request whose body it did not read, the server reads (and drops) what the
# client still sends, this long and this much at most, before closing: closing with unread
# input resets the connection, and a client still sending would get the reset, not the answer.
LINGER_SECONDS = 2.0
LINGER_BYTES = 1 << 20


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
    max_connections: int = Field(
        256, ge=1, description="Connections open at once; a new one beyond gets 503, closed."
    )
    request_seconds: float = Field(
        60.0,
        ge=1,
        description="How long a connection may take to send a request (or stay idle between "
        "two) before it is closed; the wait for Kafka comes on top.",
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


def _bearer_needed() -> Reply:
    return _error(401, "a valid bearer token is required", **{"WWW-Authenticate": "Bearer"})


@dataclass
class Sent:
    """What a request wrote: its mentions, the records (one per brand a mention names), the
    mentions given brands by matching, and the places of those naming none."""

    accepted: int = 0
    records: int = 0
    matched: int = 0
    unbranded: list[int] = field(default_factory=list)


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
            "Mentions posted: accepted (acknowledged by Kafka), invalid (422; webhooks: records "
            "that map to no mention), too_large (413), busy (429), unavailable (503), "
            "duplicate (webhooks: delivered before, not written again).",
            ["path", "outcome"],
            registry=self.registry,
        )
        self.records = Counter(
            "buzzwatch_ingest_records",
            "Records sent to the mentions topic (a mention naming several brands: one each).",
            ["path"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "buzzwatch_ingest_request_seconds",
            "Time to answer a POST of mentions, Kafka's acknowledgement included.",
            ["path"],
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
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total...
        PlatformCollector(registry=self.registry)  # python_info


class IngestService:
    """The answers of the HTTP API, apart from the HTTP plumbing."""

    def __init__(
        self,
        settings: IngestSettings,
        sink: MentionSink,
        matcher: BrandMatcher | None,
        hooks: Mapping[str, Hook],
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.matcher = matcher
        self.hooks = hooks
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
            return _bearer_needed()
        raw = self._read(headers, body)
        return raw if isinstance(raw, Reply) else self._take(raw)

    def post_hook(self, hook: Hook, headers: Message, body: BinaryIO) -> Reply:
        """`POST /v1/hooks/NAME`: authenticated by the hook's signature of the body, or by the
        bearer token for a hook without a secret; then as `post`, each id written once."""
        header = hook.settings.signature_header
        signature = headers.get(header, "") if hook.signed else None
        if signature == "":
            return _error(401, f"a signature is required ({header})")
        if signature is None and not self.authorised(headers.get("Authorization")):
            return _bearer_needed()
        raw = self._read(headers, body)
        if isinstance(raw, Reply):
            return raw
        if signature is not None and not hook.signature_matches(raw, signature):
            return _error(401, f"the signature ({header}) does not match the body")
        return self._take_hook(hook, raw)

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

    def _read(self, headers: Message, body: BinaryIO) -> bytes | Reply:
        """The request's body, or the refusal of its headers (415, 411, 413)."""
        content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error(415, "send the mentions as application/json")
        length = headers.get("Content-Length", "")
        if "Transfer-Encoding" in headers or not (length.isascii() and length.isdecimal()):
            return _error(411, "a Content-Length is required")
        if int(length) > self.settings.max_body_bytes:
            return _error(413, f"body over {self.settings.max_body_bytes} bytes")
        return body.read(int(length))

    def _take(self, raw: bytes) -> Reply:
        try:
            items = _decoded(raw)
        except ValueError as error:
            detail = [{"loc": ["body"], "msg": str(error), "type": "json_invalid"}]
            return Reply(422, {"detail": detail})
        batch = items if isinstance(items, list) else [items]
        if not batch:
            return Reply(
                422, {"detail": [{"loc": ["body"], "msg": "no mentions", "type": "empty"}]}
            )
        if len(batch) > self.settings.max_batch:
            return self._too_many(MENTIONS_PATH, len(batch))
        mentions, detail = _validate(batch)
        if detail:
            self.metrics.mentions.labels(MENTIONS_PATH, "invalid").inc(len(batch))
            return Reply(422, {"detail": detail[:MAX_DETAILS], "errors": len(detail)})
        sent = self._send(MENTIONS_PATH, list(enumerate(mentions)))
        return sent if isinstance(sent, Reply) else Reply(202, asdict(sent))

    def _take_hook(self, hook: Hook, raw: bytes) -> Reply:
        """A hook's payload: its records mapped, those not delivered before sent; 422 when
        none maps to a mention."""
        try:
            records = records_of(_decoded(raw), hook.records_path)
        except ValueError as error:
            return Reply(422, {"error": str(error), "invalid": []})
        if len(records) > self.settings.max_batch:
            return self._too_many(hook.path, len(records))
        mapped = [in_time(hook.mapper.mention(record)) for record in records]
        invalid = [
            {"index": index, "reason": record.reason}
            for index, record in enumerate(mapped)
            if isinstance(record, Invalid)
        ]
        if invalid:
            self.metrics.mentions.labels(hook.path, "invalid").inc(len(invalid))
            log.warning(
                "%s: %d of %d records invalid: %s", hook.path, len(invalid), len(mapped), invalid[0]
            )
        if invalid and len(invalid) == len(mapped):
            return Reply(422, {"error": "no record maps to a mention", "invalid": invalid})
        numbered = [(i, m) for i, m in enumerate(mapped) if isinstance(m, Mention)]
        return self._send_once(hook, numbered, invalid)

    def _send_once(self, hook: Hook, numbered: Numbered, invalid: list[dict[str, Any]]) -> Reply:
        """Send the mentions the hook has not delivered before, and record their ids once
        Kafka acknowledged them; the answer counts those delivered before."""
        if not hook.lock.acquire(timeout=self.settings.send_timeout_seconds):
            return self._busy(hook.path, len(numbered), "a delivery to this hook waits for Kafka")
        try:
            fresh, duplicates = hook.fresh(numbered)
            sent = self._send(hook.path, fresh) if fresh else Sent()
            if isinstance(sent, Reply):
                return sent
            hook.record([mention.id for _, mention in fresh])
        finally:
            hook.lock.release()
        self.metrics.mentions.labels(hook.path, "duplicate").inc(duplicates)
        return Reply(202, {**asdict(sent), "duplicates": duplicates, "invalid": invalid})

    def _too_many(self, path: str, count: int) -> Reply:
        self.metrics.mentions.labels(path, "too_large").inc(count)
        return _error(413, f"{count} mentions in one request, at most {self.settings.max_batch}")

    def _busy(self, path: str, count: int, why: str) -> Reply:
        self.metrics.mentions.labels(path, "busy").inc(count)
        return _error(429, f"{why}; retry", **{"Retry-After": str(RETRY_BUSY_SECONDS)})

    def _send(self, path: str, mentions: Numbered) -> Sent | Reply:
        """Send the mentions, one record per brand, and wait for Kafka's acknowledgement."""
        records, sent = [], Sent(accepted=len(mentions))
        for index, mention in mentions:
            copies = [mention] if self.matcher is None else self.matcher.assign(mention)
            sent.matched += mention.brand is None and copies[0].brand is not None
            if copies[0].brand is None:
                sent.unbranded.append(index)
            records.extend(copies)
        sent.records = len(records)
        with self._lock:
            if self._pending + len(mentions) > self.settings.max_pending:
                why = f"over {self.settings.max_pending} mentions wait for Kafka"
                return self._busy(path, len(mentions), why)
            self._pending += len(mentions)
            self.metrics.pending.set(self._pending)
        try:
            self.sink.send(records)
        except KafkaUnavailable as error:
            self.metrics.mentions.labels(path, "unavailable").inc(len(mentions))
            return _error(503, str(error), **{"Retry-After": str(RETRY_KAFKA_SECONDS)})
        finally:
            with self._lock:
                self._pending -= len(mentions)
                self.metrics.pending.set(self._pending)
        self.metrics.mentions.labels(path, "accepted").inc(len(mentions))
        self.metrics.records.labels(path).inc(len(records))
        return sent


def _decoded(raw: bytes) -> Any:
    """A body's JSON; ValueError `bad JSON: reason` when it is not JSON."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError, JSONDecodeError
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)[:200]
        raise ValueError(f"bad JSON: {reason}") from error


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
            mention = in_time(Mention.model_validate(item))
        except ValidationError as error:
            for e in error.errors(include_url=False, include_input=False, include_context=False):
                detail.append(
                    {"index": index, "loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                )
            continue
        if isinstance(mention, Invalid):
            loc = ["created_at"]
            detail.append({"index": index, "loc": loc, "msg": mention.reason, "type": "future"})
        else:
            mentions.append(mention)
    return mentions, detail


class IngestServer(ThreadingHTTPServer):
    """The HTTP server: one thread per connection, at most `max_connections` of them, each
    closed when a request takes longer than `request_seconds` to come (slow clients cannot
    hold threads for ever)."""

    daemon_threads = True

    def __init__(self, service: IngestService) -> None:
        self.service = service
        settings = service.settings
        self._slots = threading.BoundedSemaphore(settings.max_connections)
        self._limit = settings.request_seconds + settings.send_timeout_seconds
        self._deadlines: dict[socket.socket, float] = {}
        self._deadlines_lock = threading.Lock()
        self._closed = threading.Event()
        document = Reply(200, openapi_document())
        self.routes: dict[str, Callable[[], Reply]] = {  # GET paths
            "/healthz": service.health,
            "/metrics": service.metrics_text,
            "/openapi.json": lambda: document,
        }
        self.posts: dict[str, Callable[[Message, BinaryIO], Reply]] = {
            MENTIONS_PATH: service.post,
            **{hook.path: partial(service.post_hook, hook) for hook in service.hooks.values()},
        }
        super().__init__((settings.address, settings.port), _Handler)
        threading.Thread(target=self._close_late, name="deadlines", daemon=True).start()

    def process_request(self, request: Any, client_address: Any) -> None:
        if self._slots.acquire(blocking=False):
            super().process_request(request, client_address)
            return
        self.service.metrics.requests.labels("other", 503).inc()
        with contextlib.suppress(OSError):
            request.sendall(_TOO_MANY_CONNECTIONS)
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._deadlines_lock:
                self._deadlines.pop(request, None)
            self._slots.release()

    def arm(self, connection: socket.socket) -> None:
        """Start the clock of the next request on `connection`."""
        with self._deadlines_lock:
            self._deadlines[connection] = time.monotonic() + self._limit

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def _close_late(self) -> None:
        """Every second, shut down the connections whose request is late (until closed)."""
        while not self._closed.wait(1.0):
            now = time.monotonic()
            with self._deadlines_lock:
                late = [c for c, deadline in self._deadlines.items() if deadline < now]
                for connection in late:
                    del self._deadlines[connection]
            for connection in late:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


_TOO_MANY_CONNECTIONS = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: 33\r\n\r\n"
    b'{"error": "too many connections"}'
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may take to send its request
    server: IngestServer
    unread = False  # the request's body was not read: linger before closing

    def finish(self) -> None:
        super().finish()
        if self.unread:
            _linger(self.connection)

    @property
    def _route(self) -> str:
        """The request's path without its query."""
        return self.path.split("?")[0]

    def handle_one_request(self) -> None:
        self.server.arm(self.connection)
        super().handle_one_request()

    def do_GET(self) -> None:
        route = self.server.routes.get(self._route)
        if "Content-Length" in self.headers or "Transfer-Encoding" in self.headers:
            self.close_connection = self.unread = True  # a body we do not read
        if route is not None:
            self._answer(route())
        elif self._route in self.server.posts:
            self._answer(_error(405, "POST mentions here", Allow="POST"))
        else:
            self._answer(_error(404, f"no {self.path} here"))

    def do_POST(self) -> None:
        post = self.server.posts.get(self._route)
        if post is None:
            self.close_connection = self.unread = True  # its body is not read
            self._answer(_error(404, f"no {self.path} here"))
            return
        started = time.perf_counter()
        reply = post(self.headers, cast(BinaryIO, self.rfile))
        seconds = self.server.service.metrics.seconds.labels(self._route)
        seconds.observe(time.perf_counter() - started)
        if reply.status in (411, 413, 401, 415):
            self.close_connection = self.unread = True  # the body was not read
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
        known = path in self.server.posts or path in self.server.routes
        self.server.service.metrics.requests.labels(path if known else "other", reply.status).inc()

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def _linger(connection: socket.socket) -> None:
    """End the answer, then drop what the client still sends (bounded) before the close."""
    deadline = time.monotonic() + LINGER_SECONDS
    dropped = 0
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_WR)
        while dropped < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
            connection.settimeout(left)
            chunk = connection.recv(65_536)
            if not chunk:
                return
            dropped += len(chunk)


def serve(service: IngestService, stop: threading.Event) -> None:
    """Serve until `stop` is set; then finish the requests under way and close the sink."""
    server = IngestServer(service)
    address, port = server.server_address[:2]
    log.info("ingest: listening on http://%s:%s%s", address, port, MENTIONS_PATH)
    for hook in service.hooks.values():
        log.info("ingest: %s", hook.describe())
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
