"""`buzzwatch ingest`: mentions over HTTP onto the mentions topic.

`POST /v1/mentions` takes one mention (a JSON object) or a batch (a JSON array), with a bearer
token: 202 only once Kafka has acknowledged every record of it; 422 with each invalid field
(nothing written); 429 or 503 when it cannot be taken now (never a silent loss: a 503 may
follow a partial write, and the retry it asks for is safe, as the engine counts an id once).
`POST /v1/hooks/NAME` takes a configured webhook's payload (`producers/hooks.py`): its records
mapped to mentions, each id written once. `GET /healthz`, `/metrics` (Prometheus),
`/openapi.json` (generated from the routes and models below) and `/docs` need no token.
The HTTP stack (FastAPI on Hypercorn) is `buzzwatch.web`'s, shared with the desk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic.json_schema import models_json_schema

from buzzwatch import web
from pipeline.brands import BrandMatcher, assigned
from pipeline.models import SCHEMA_VERSION, Invalid, Mention
from producers.hooks import HOOKS_PATH, Hook, Numbered
from producers.kafka_sink import KafkaUnavailable, MentionSink, in_time
from producers.mapping import records_of
from producers.settings import HOOK_NAME_PATTERN, IngestSettings

log = logging.getLogger(__name__)
MENTIONS_PATH = "/v1/mentions"
MAX_DETAILS = 100  # field errors listed in one 422 answer at most
RETRY_BUSY_SECONDS = 1
RETRY_KAFKA_SECONDS = 5
DESCRIPTION = (
    "Mentions over HTTP onto the buzzwatch mentions topic. 202 means Kafka acknowledged every "
    "record of the request; a 422 writes nothing; a 503 may follow a partial write. Retrying "
    "after 429, 503 or a lost answer is safe: a mention id already counted in its brand's open "
    "buckets counts once."
)


class IngestMetrics:
    """What the service counts, in a registry of its own (served on `/metrics`)."""

    def __init__(self, sink: MentionSink, pending: Callable[[], float]) -> None:
        self.registry, self.requests = web.service_metrics("ingest")
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
        waiting = Gauge(
            "buzzwatch_ingest_pending_mentions",
            "Mentions waiting for Kafka's acknowledgement now.",
            registry=self.registry,
        )
        waiting.set_function(pending)  # read at scrape time
        connected = Gauge(
            "buzzwatch_ingest_kafka_connected",
            "1 when the last contact with Kafka succeeded.",
            registry=self.registry,
        )
        connected.set_function(lambda: float(sink.connected))


class IngestService:
    """The answers of the HTTP API, apart from its routes: on the server's event loop, the
    wait for Kafka holding no thread."""

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
        self._pending = 0  # touched by the event loop only
        self.metrics = IngestMetrics(sink, lambda: self._pending)

    def health(self) -> JSONResponse:
        if self.sink.connected:
            return JSONResponse({"status": "ok", "kafka": "connected"}, 200)
        return JSONResponse({"status": "unavailable", "kafka": self.sink.problem}, 503)

    async def take(self, raw: bytes) -> Response:
        """`POST /v1/mentions`'s body, from its JSON to Kafka's acknowledgement."""
        try:
            items = _decoded(raw)
        except ValueError as error:
            detail = [{"loc": ["body"], "msg": str(error), "type": "json_invalid"}]
            return JSONResponse({"detail": detail}, 422)
        batch = items if isinstance(items, list) else [items]
        if not batch:
            return JSONResponse(
                {"detail": [{"loc": ["body"], "msg": "no mentions", "type": "empty"}]}, 422
            )
        if len(batch) > self.settings.max_batch:
            return self._too_many(MENTIONS_PATH, len(batch))
        mentions, detail = _validate(batch)
        if detail:
            self.metrics.mentions.labels(MENTIONS_PATH, "invalid").inc(len(batch))
            return JSONResponse({"detail": detail[:MAX_DETAILS], "errors": len(detail)}, 422)
        sent = await self._send(MENTIONS_PATH, list(enumerate(mentions)))
        if isinstance(sent, JSONResponse):
            return sent
        return Response(sent.model_dump_json(), 202, media_type=JSONResponse.media_type)

    async def take_hook(self, hook: Hook, raw: bytes, signature: str | None) -> JSONResponse:
        """A hook's payload, with the `signature` its hook asks for (None: the bearer token
        was checked): its records mapped, those not delivered before sent; 422 when none maps
        to a mention."""
        if signature is not None and not hook.signature_matches(raw, signature):
            header = hook.settings.signature_header
            return web.error(401, f"the signature ({header}) does not match the body")
        try:
            records = records_of(_decoded(raw), hook.records_path)
        except ValueError as error:
            return JSONResponse({"error": str(error), "invalid": []}, 422)
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
            return JSONResponse({"error": "no record maps to a mention", "invalid": invalid}, 422)
        numbered = [(i, m) for i, m in enumerate(mapped) if isinstance(m, Mention)]
        return await self._send_once(hook, numbered, invalid)

    async def _send_once(
        self, hook: Hook, numbered: Numbered, invalid: list[dict[str, Any]]
    ) -> JSONResponse:
        """Send the mentions the hook has not delivered before, and record their ids once
        Kafka acknowledged them; the answer counts those delivered before."""
        try:
            async with asyncio.timeout(self.settings.send_timeout_seconds):
                await hook.lock.acquire()
        except TimeoutError:
            return self._busy(hook.path, len(numbered), "a delivery to this hook waits for Kafka")
        try:
            fresh, duplicates = hook.fresh(numbered)
            sent = await self._send(hook.path, fresh) if fresh else _NOTHING_SENT
            if isinstance(sent, JSONResponse):
                return sent
            hook.record([mention.id for _, mention in fresh])
        finally:
            hook.lock.release()
        self.metrics.mentions.labels(hook.path, "duplicate").inc(duplicates)
        return JSONResponse(
            {**sent.model_dump(), "duplicates": duplicates, "invalid": invalid}, 202
        )

    def _too_many(self, path: str, count: int) -> JSONResponse:
        self.metrics.mentions.labels(path, "too_large").inc(count)
        return web.error(413, f"{count} mentions in one request, at most {self.settings.max_batch}")

    def _busy(self, path: str, count: int, why: str) -> JSONResponse:
        self.metrics.mentions.labels(path, "busy").inc(count)
        return web.error(429, f"{why}; retry", **{"Retry-After": str(RETRY_BUSY_SECONDS)})

    async def _send(self, path: str, mentions: Numbered) -> Accepted | JSONResponse:
        """Send the mentions, one record per brand, and wait for Kafka's acknowledgement; what
        was written (the mentions given brands by matching, the places of those naming none)."""
        records, matched, unbranded = [], 0, []
        for index, mention in mentions:
            copies = assigned(self.matcher, mention)
            matched += mention.brand is None and copies[0].brand is not None
            if copies[0].brand is None:
                unbranded.append(index)
            records.extend(copies)
        sent = Accepted(
            accepted=len(mentions), records=len(records), matched=matched, unbranded=unbranded
        )
        if self._pending + len(mentions) > self.settings.max_pending:
            why = f"over {self.settings.max_pending} mentions wait for Kafka"
            return self._busy(path, len(mentions), why)
        self._pending += len(mentions)
        try:
            await self.sink.delivered(records)
        except KafkaUnavailable as error:
            self.metrics.mentions.labels(path, "unavailable").inc(len(mentions))
            return web.error(503, str(error), **{"Retry-After": str(RETRY_KAFKA_SECONDS)})
        finally:
            self._pending -= len(mentions)
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
            msg = f"expected a JSON object, got {type(item).__name__}"
            detail.append({"index": index, "loc": [], "msg": msg, "type": "object_type"})
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


class FieldError(BaseModel):
    index: int | None = Field(None, description="Place of the mention in the batch.")
    loc: list[str | int] = Field(
        description="Path of the field in the mention (`created_at`, `author.id`)."
    )
    msg: str
    type: str = Field(description="pydantic's error type, or json_invalid.")


class Refusal(BaseModel):
    detail: list[FieldError]
    errors: int | None = Field(None, description="All field errors (100 listed).")


class Accepted(BaseModel):
    accepted: int = Field(description="Mentions taken.")
    records: int = Field(description="Records written: one per brand a mention without one names.")
    matched: int = Field(description="Mentions given brands by matching.")
    unbranded: list[int] = Field(
        description="Indexes of the mentions with no brand that name none of the configured "
        "brands: written, and dead-lettered by the detector."
    )


_NOTHING_SENT = Accepted(accepted=0, records=0, matched=0, unbranded=[])  # duplicates only


class RecordError(BaseModel):
    index: int = Field(description="Place of the record in the payload.")
    reason: str = Field(description="Why it maps to no mention: the fields and their paths.")


class HookAccepted(Accepted):
    duplicates: int = Field(
        description="Records whose id the hook delivered before: not written again."
    )
    invalid: list[RecordError] = Field(description="Records that map to no mention.")


class HookRefused(BaseModel):
    error: str
    invalid: list[RecordError]


class Health(BaseModel):
    status: str = Field(description="ok, or unavailable")
    kafka: str


Described = dict[int, tuple[str, type[BaseModel]]]  # status code: (description, model)
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}


def _answers(described: Described) -> dict[int | str, Any]:
    """FastAPI's `responses` of a route: each status code's description and model, with
    Retry-After on 429 and 503."""
    return {
        code: {"description": text, "model": model}
        | ({"headers": _RETRY_AFTER} if code in (429, 503) else {})
        for code, (text, model) in described.items()
    }


_SHARED_ANSWERS: Described = {
    408: ("The body did not come within request_seconds.", web.Error),
    411: ("No Content-Length.", web.Error),
    415: ("Not application/json.", web.Error),
    503: (
        "Kafka unreachable or did not acknowledge in time, or max_connections requests in "
        "progress: retry after.",
        web.Error,
    ),
}
_MENTIONS_ANSWERS: Described = {
    202: ("Every record acknowledged by Kafka (acks=all).", Accepted),
    401: ("No valid bearer token.", web.Error),
    413: ("Body over max_body_bytes, or over max_batch mentions.", web.Error),
    422: ("Bad JSON, or invalid mentions: every field error, none taken.", Refusal),
    429: ("Too many mentions wait for Kafka (max_pending): retry after.", web.Error),
    **_SHARED_ANSWERS,
}
_HOOK_ANSWERS: Described = {
    202: (
        "Every new record acknowledged by Kafka; records delivered before are counted, not "
        "written; records that map to no mention are listed, not written.",
        HookAccepted,
    ),
    401: ("No valid signature (a hook with a secret), or no valid bearer token.", web.Error),
    404: ("No webhook of that name is configured.", web.Error),
    413: ("Body over max_body_bytes, or over max_batch records.", web.Error),
    422: ("Bad JSON, no list of records, or no record maps to a mention.", HookRefused),
    429: (
        "Too many mentions wait for Kafka (max_pending), or another delivery to this hook does "
        "for longer than send_timeout_seconds: retry after.",
        web.Error,
    ),
    **_SHARED_ANSWERS,
}
_MENTION_REF = {"$ref": "#/components/schemas/Mention"}
_MENTIONS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _MENTION_REF,
                        {"type": "array", "items": _MENTION_REF, "minItems": 1},
                    ]
                }
            }
        },
    }
}
_HOOK_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}}
_SIGNATURE = {
    "signature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature-256",
        "description": "A hook with a secret: the HMAC-SHA256 hex digest of the raw body with "
        "it (`sha256=` before it or not), in the hook's signature_header (X-Signature-256 "
        "unless configured).",
    }
}


def ingest_app(service: IngestService) -> FastAPI:
    """The HTTP API of `service`."""
    settings = service.settings
    app = web.service_app("buzzwatch ingest", SCHEMA_VERSION, DESCRIPTION)
    bearer = web.Bearer(settings.tokens)

    async def body_of(request: Request) -> bytes:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise web.Refused(415, "send the mentions as application/json")
        return await web.read_body(request, settings.max_body_bytes, settings.request_seconds)

    async def post_mentions(request: Request) -> Response:
        started = time.perf_counter()
        await bearer(request)
        reply = await service.take(await body_of(request))
        service.metrics.seconds.labels(MENTIONS_PATH).observe(time.perf_counter() - started)
        return reply

    app.router.add_api_route(
        MENTIONS_PATH,
        post_mentions,
        methods=["POST"],
        summary="Post one mention or a batch.",
        status_code=202,
        responses=_answers(_MENTIONS_ANSWERS),
        openapi_extra={**_MENTIONS_BODY, "security": [{web.BEARER: []}]},
        route_class_override=web.Direct,  # the hot path: no parameters to resolve
    )

    @app.post(
        HOOKS_PATH + "{name}",
        summary="Deliver a configured webhook's payload ([webhooks.NAME]).",
        description="The records of the payload are mapped to mentions by the hook's field "
        "mapping, their ids prefixed `NAME:`; a record whose id the hook delivered before is "
        "not written again (a retried delivery, also after a restart).",
        status_code=202,
        responses=_answers(_HOOK_ANSWERS),
        openapi_extra={**_HOOK_BODY, "security": [{"signature": []}, {web.BEARER: []}]},
    )
    async def post_hook(
        request: Request, name: Annotated[str, Path(pattern=HOOK_NAME_PATTERN)]
    ) -> JSONResponse:
        hook = service.hooks.get(name)
        if hook is None:
            raise web.Refused(404, f"no {request.url.path} here", {})
        started = time.perf_counter()
        header = hook.settings.signature_header
        signature = request.headers.get(header, "") if hook.signed else None
        if signature == "":
            raise web.Refused(401, f"a signature is required ({header})", {})
        if signature is None:
            await bearer(request)
        reply = await service.take_hook(hook, await body_of(request), signature)
        service.metrics.seconds.labels(hook.path).observe(time.perf_counter() - started)
        return reply

    @app.get(
        "/healthz",
        summary="Whether Kafka took the last contact.",
        responses=_answers({200: ("Yes.", Health), 503: ("No.", Health)}),
    )
    async def health() -> JSONResponse:
        return service.health()

    app.router.routes.append(web.metrics_route(service.metrics.registry))
    scheme = bearer.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    _with_components(app, Mention, {web.BEARER: scheme, **_SIGNATURE})
    return app


def _with_components(app: FastAPI, model: type[BaseModel], schemes: dict[str, Any]) -> None:
    """Add `model`'s schema (which routes read by hand, so FastAPI does not see it) and the
    security `schemes` to the generated document."""
    generate = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = generate()
            _, schemas = models_json_schema(
                [(model, "validation")], ref_template="#/components/schemas/{model}"
            )
            generated["components"]["schemas"].update(schemas["$defs"])
            generated["components"].setdefault("securitySchemes", {}).update(schemes)
        return app.openapi_schema or {}

    app.openapi = document  # type: ignore[method-assign]


def openapi_document() -> dict[str, Any]:
    """The generated OpenAPI document of `ingest_app` (as `/openapi.json` serves it)."""
    settings = IngestSettings(tokens=(SecretStr("unused"),))
    sink = MentionSink({}, "mentions", settings.send_timeout_seconds)
    return ingest_app(IngestService(settings, sink, None, {})).openapi()


def serve(service: IngestService, stop: threading.Event) -> None:
    """Serve until `stop` is set; then finish the requests under way and close the sink."""
    settings = service.settings
    paths = [MENTIONS_PATH, "/healthz", *(hook.path for hook in service.hooks.values())]
    requests, seconds = service.metrics.requests, settings.request_seconds
    app = web.Capped(ingest_app(service), settings.max_connections, requests, paths, seconds)
    log.info("ingest: listening on http://%s:%s%s", settings.address, settings.port, MENTIONS_PATH)
    for hook in service.hooks.values():
        log.info("ingest: %s", hook.describe())
    web.collect_less()  # before the sink's thread starts
    service.sink.start()
    try:
        web.serve(
            app,
            settings.address,
            settings.port,
            settings.request_seconds,
            settings.send_timeout_seconds,
            settings.max_connections,
            stop,
        )
    finally:
        service.sink.close()
