"""`buzzwatch desk`: the crisis desk as a service, on the mentions and alerts topics.

It consumes both topics in its own consumer group (read_committed) and merges them by event
time, as Kafka Streams aligns its inputs: the earliest buffered record goes first, and a topic
with nothing buffered is waited for unless it has caught up (its position at the high
watermark) or has been silent `idle_seconds`. A mention's time is its `created_at`; an alert
event's is its `at` plus the allowed lateness, when the detector's watermark let it out, so
the desk sees each alert after the mentions the detector had seen (give or take mentions that
arrived out of order within the lateness). Each
record goes to the desk (`pipeline.desk`), whose entries are appended to the crisis log before
the offsets are committed: after a crash the records since the last commit are read again and
the desk, restored from the log, ignores what it has logged already.

The HTTP API (bearer tokens, `[desk] tokens` or `$BUZZWATCH_DESK_TOKENS`):

- `GET /v1/incidents` (`?state=open` for the open ones): incidents, newest first;
- `GET /v1/incidents/ID`: one incident: alerts, explanation, holding statement, queue counts;
- `GET /v1/incidents/ID/queue`: the people to answer, in order (open first, followers of the
  brand first, then by reach, suspected trolls last);
- `POST /v1/incidents/ID/queue/PERSON` `{"status": "replied"|"skipped"|"open", "note": "…"}`:
  appends a `status` entry to the log (PERSON is `source:author`, URL-encoded);
- `GET /healthz`, `/metrics` (Prometheus), `/openapi.json` and `/docs`, without a token.

The HTTP stack (FastAPI on Hypercorn) is `buzzwatch.web`'s, shared with `buzzwatch ingest`.
One desk process per log directory: the directory is the desk's state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import Gauge
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from buzzwatch import web
from consumers.settings import DeskSettings, KafkaSettings
from pipeline.brands import Handles
from pipeline.crisis_log import CrisisLog
from pipeline.desk import STATUSES, Desk, LoggedDesk, Seen, item_dict
from pipeline.models import SCHEMA_VERSION, AlertEvent, Mention
from pipeline.records import decode_record
from pipeline.sentiment import SentimentRouter
from pipeline.settings import DetectionSettings

log = logging.getLogger("buzzwatch.desk")

POLL_TIMEOUT_MS = 500
MAX_BUFFERED = 20_000  # records held for alignment per topic; beyond, that topic is paused
MAX_BODY_BYTES = 16_384
BODY_SECONDS = 30.0  # a status's body comes within this
IDLE_SECONDS = 30.0  # a connection idle this long, or slower to send a request's head, is closed
MAX_REQUESTS = 64  # requests in progress at once; beyond, 503


class DeskService:
    """The desk, its log, and the lock the HTTP threads and the consumer share."""

    def __init__(
        self,
        desk: LoggedDesk,
        scorer: SentimentRouter,
        handles: Handles,
        tokens: tuple[SecretStr, ...],
    ) -> None:
        self.desk = desk
        self.scorer = scorer
        self.handles = handles
        self.tokens = tokens
        self.lock = threading.Lock()
        self.skipped = 0  # records that were not a valid mention or alert event
        self.registry, self.requests = web.service_metrics("desk")
        skipped = Gauge(
            "buzzwatch_desk_skipped_records",
            "Records of the topics that were neither a valid mention nor an alert event.",
            registry=self.registry,
        )
        skipped.set_function(lambda: float(self.skipped))

    def take_mention(self, mention: Mention) -> None:
        polarity = self.scorer.polarity(mention.text, mention.lang)
        own = self.handles.owns(mention)
        negative = not own and self.scorer.is_negative(polarity)
        with self.lock:
            self.desk.on_mention(Seen(mention, polarity.compound, negative, own))

    def take_alert(self, event: AlertEvent) -> None:
        with self.lock:
            self.desk.on_alert(event)

    # --- the API -----------------------------------------------------------------------------

    def incidents(self, only_open: bool) -> JSONResponse:
        with self.lock:
            chosen = [
                incident.summary()
                for incident in self.desk.desk.incidents.values()
                if incident.active or not only_open
            ]
        chosen.sort(key=lambda summary: summary["opened_at"], reverse=True)
        for summary in chosen:
            summary.pop("explanation")
        return JSONResponse({"incidents": chosen})

    def incident(self, incident_id: str) -> JSONResponse:
        with self.lock:
            incident = self.desk.desk.incidents.get(incident_id)
            summary = incident.summary() if incident else None
        return _missing(incident_id) if summary is None else JSONResponse(summary)

    def queue(self, incident_id: str) -> JSONResponse:
        with self.lock:
            incident = self.desk.desk.incidents.get(incident_id)
            if incident is None:
                return _missing(incident_id)
            items = [item_dict(item) for item in incident.ordered_queue()]
        return JSONResponse({"incident": incident_id, "brand": incident.brand, "queue": items})

    def mark(self, incident_id: str, person: str, body: bytes) -> JSONResponse:
        try:
            change = StatusChange.model_validate_json(body or b"{}")
        except ValidationError:
            return web.error(422, f"give status ({', '.join(STATUSES)}) and an optional note")
        status = change.status
        try:
            with self.lock:
                written = self.desk.mark(
                    incident_id, person, status, datetime.now(UTC), "http", change.note
                )
        except KeyError as error:
            return web.error(404, str(error.args[0]))
        return JSONResponse({"logged": written.seq, "person": person, "status": status})


def _missing(incident_id: str) -> JSONResponse:
    return web.error(404, f"no incident {incident_id}")


class StatusChange(BaseModel):
    """The body of `POST /v1/incidents/ID/queue/PERSON`."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "replied", "skipped"]
    note: str = ""


def desk_app(service: DeskService) -> FastAPI:
    """The HTTP API of `service`."""
    description = "The crisis desk: incidents, their response queues, and statuses set."
    app = web.service_app("buzzwatch desk", SCHEMA_VERSION, description)
    guarded = [Depends(web.Bearer(service.tokens))]
    error: dict[str, Any] = {"model": web.Error}
    missing: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident.", **error}}
    one: dict[str, Any] = {"dependencies": guarded, "responses": missing}  # incident routes

    @app.get("/healthz", summary="The desk is up.")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/incidents", summary="Incidents, newest first.", dependencies=guarded)
    def incidents(state: Literal["all", "open"] = "all") -> JSONResponse:
        return service.incidents(state == "open")

    @app.get(
        "/v1/incidents/{incident}",
        summary="One incident: alerts, explanation, holding statement, queue counts.",
        **one,
    )
    def incident(incident: str) -> JSONResponse:
        return service.incident(incident)

    @app.get("/v1/incidents/{incident}/queue", summary="The people to answer, in order.", **one)
    def queue(incident: str) -> JSONResponse:
        return service.queue(incident)

    @app.post(
        "/v1/incidents/{incident}/queue/{person:path}",
        summary="Set a person's status (logged in the crisis log).",
        description="PERSON is `source:author`, URL-encoded.",
        dependencies=guarded,
        responses={
            **missing,
            411: {"description": "No Content-Length.", **error},
            413: {"description": f"Body over {MAX_BODY_BYTES} bytes.", **error},
            422: {"description": "No valid status.", **error},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": StatusChange.model_json_schema()}},
            }
        },
    )
    async def mark(request: Request, incident: str, person: str) -> JSONResponse:
        body = await web.read_body(request, MAX_BODY_BYTES, BODY_SECONDS)
        return service.mark(incident, person, body)

    app.router.routes.append(web.metrics_route(service.registry))
    return app


def serve(service: DeskService, settings: DeskSettings, stop: threading.Event) -> None:
    """Serve the desk's HTTP API until `stop` is set."""
    paths = ["/healthz"]  # the others hold ids: counted as `other`
    app = web.Capped(desk_app(service), MAX_REQUESTS, service.requests, paths, IDLE_SECONDS)
    web.serve(app, settings.address, settings.port, IDLE_SECONDS, 5.0, MAX_REQUESTS, stop)


Buffered = tuple[float, TopicPartition, int, Any]  # event time, partition, offset, item


class Aligned:
    """Buffers of the two topics' decoded records, released in event-time order."""

    def __init__(self, topics: tuple[str, str], idle_seconds: float) -> None:
        self.buffers: dict[str, deque[Buffered]] = {topic: deque() for topic in topics}
        self.idle_seconds = idle_seconds
        self.last_seen = dict.fromkeys(topics, time.monotonic())

    def add(self, tp: TopicPartition, offset: int, at: float, item: Any) -> None:
        self.buffers[tp.topic].append((at, tp, offset, item))
        self.last_seen[tp.topic] = time.monotonic()

    def release(self, caught_up: Callable[[str], bool]) -> list[Buffered]:
        """The records that can go now, in event-time order."""
        out: list[Buffered] = []
        while True:
            heads = {t: b[0] for t, b in self.buffers.items() if b}
            if not heads:
                return out
            waiting = [t for t, b in self.buffers.items() if not b and not self._free(t, caught_up)]
            if waiting:
                return out
            topic = min(heads, key=lambda t: heads[t][0])
            out.append(self.buffers[topic].popleft())

    def _free(self, topic: str, caught_up: Callable[[str], bool]) -> bool:
        silent = time.monotonic() - self.last_seen[topic] >= self.idle_seconds
        return silent or caught_up(topic)


def run(
    service: DeskService,
    kafka: KafkaSettings,
    group_id: str,
    stop: threading.Event,
    idle_seconds: float,
) -> None:
    """Consume both topics until `stop`; commit after each logged batch."""
    topics = (kafka.mentions_topic, kafka.alerts_topic)
    consumer = KafkaConsumer(
        *topics,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        **kafka.client_options(),
    )
    aligned = Aligned(topics, idle_seconds)
    done: dict[TopicPartition, int] = {}
    try:
        while not stop.is_set():
            for tp, records in consumer.poll(timeout_ms=POLL_TIMEOUT_MS).items():
                for record in records:
                    _buffer(service, aligned, kafka, tp, record)
            _pause_full(consumer, aligned)
            for _, tp, offset, item in aligned.release(lambda t: _caught_up(consumer, t)):
                if isinstance(item, AlertEvent):
                    service.take_alert(item)
                elif item is not None:
                    service.take_mention(item)
                done[tp] = offset + 1
            if done:
                consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in done.items()})
                done.clear()
    finally:
        consumer.close()


def _buffer(
    service: DeskService, aligned: Aligned, kafka: KafkaSettings, tp: TopicPartition, record: Any
) -> None:
    """Decode a record into the buffers; what is neither a mention nor an alert is counted and
    passes (None) so its offset is committed in order."""
    item: Mention | AlertEvent | None = None
    at = record.timestamp / 1000
    if tp.topic == kafka.alerts_topic:
        try:
            item = AlertEvent.model_validate_json(record.value)
            at = item.at.timestamp() + service.desk.desk.lateness_seconds
        except ValidationError:
            service.skipped += 1
    else:
        decoded = decode_record(record.value)
        if isinstance(decoded, Mention):
            item, at = decoded, decoded.created_at.timestamp()
        else:
            service.skipped += 1
    aligned.add(tp, record.offset, at, item)


def _caught_up(consumer: KafkaConsumer, topic: str) -> bool:
    """Whether every assigned partition of `topic` is read to its high watermark."""
    return all(
        (highwater := consumer.highwater(tp)) is not None and consumer.position(tp) >= highwater
        for tp in consumer.assignment()
        if tp.topic == topic
    )


def _pause_full(consumer: KafkaConsumer, aligned: Aligned) -> None:
    for tp in consumer.assignment():
        full = len(aligned.buffers[tp.topic]) >= MAX_BUFFERED
        if full and tp not in consumer.paused():
            consumer.pause(tp)
        elif not full and tp in consumer.paused():
            consumer.resume(tp)


def desk_service(
    settings: DeskSettings, handles: Mapping[str, tuple[str, ...]], detection: DetectionSettings
) -> DeskService:
    """The service over its log directory, restored from it; it buckets and scores as the
    detector's `detection` settings do."""
    desk = Desk(detection.bucket_seconds, detection.allowed_lateness_seconds)
    logged = LoggedDesk(CrisisLog(settings.log_dir), desk)
    return DeskService(
        logged, SentimentRouter.for_settings(detection), Handles(handles), settings.tokens
    )
