"""The HTTP stack of `buzzwatch ingest` and `buzzwatch desk`: FastAPI on Hypercorn.

FastAPI generates each service's OpenAPI document from its routes and pydantic models, serves
it with interactive documentation (`/docs`, Swagger UI shipped by fastapi-offline: no CDN),
and has one bearer-token check, which the routes run. Hypercorn rather than uvicorn: it closes a
connection that has not sent a whole request head within its keep-alive timeout, where uvicorn
has no timeout before a request's head is complete (a client sending half a request holds its
connection for ever: uvicorn issue #157).

What the server leaves to the application is here, once for both services: a cap on the
requests in progress (503 beyond), a deadline on reading a body, errors as `{"error": ...}`,
and the request counter by path and status code.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import threading
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from fastapi_offline import FastAPIOffline
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    make_asgi_app,
)
from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
OTHER = "other"  # the path label of requests for no route
# What is left of a refused request's body is read and dropped, this long and this much at most
DRAIN_SECONDS = 2.0
DRAIN_BYTES = 1 << 20
CLOSE = {"Connection": "close"}  # a refusal's headers, unless it says otherwise
BEARER_NEEDED = {"WWW-Authenticate": "Bearer", **CLOSE}
BEARER = "bearer"  # the security scheme's name in the OpenAPI documents
YOUNG_OBJECTS = 50_000  # allocations between two collections of the youngest generation


class Error(BaseModel):
    """An error answer's body."""

    error: str


def error(status: int, message: str, **headers: str) -> JSONResponse:
    """An error answer: `{"error": message}`."""
    return JSONResponse({"error": message}, status, headers or None)


class Refused(Exception):
    """Raised by a route to answer `error(status, message, **headers)` (by default closing the
    connection); what is left of the request's body is read and dropped first (bounded)
    unless `drain` is False."""

    def __init__(
        self, status: int, message: str, headers: Mapping[str, str] = CLOSE, drain: bool = True
    ) -> None:
        super().__init__(message)
        self.answer = error(status, message, **headers)
        self.drain = drain

    async def answered(self, request: Request) -> JSONResponse:
        """The answer, once what is left of the body is dropped (unless `drain` is False)."""
        if self.drain:
            await _drain(request)
        return self.answer


def service_app(title: str, version: str, description: str) -> FastAPI:
    """A FastAPI application with the shared behaviour: `/openapi.json` and `/docs`, and errors
    as `{"error": ...}`."""
    app = FastAPIOffline(
        title=title,
        version=version,
        description=description,
        redoc_url=None,
        redirect_slashes=False,  # a redirect would name the client's Host: 404 instead
        swagger_ui_parameters={"defaultModelsExpandDepth": 0},
        # metrics are Prometheus's; OpenTelemetry's lookups cost 2 % of ingest's CPU a request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refused)
        return await exc.answered(request)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)  # Starlette's: the router's 404 and 405 too
        await _drain(request)
        return error(exc.status_code, str(exc.detail), **(exc.headers or {}))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        await _drain(request)
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return error(422, f"{where}: {first['msg']}")

    app.add_exception_handler(Exception, _internal)  # the server logs the exception
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    return app


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    """The answer to an unexpected error, which whoever caught it logs."""
    return error(500, "internal error")


async def _drain(request: Request) -> None:
    """Read and drop what is left of a refused request's body (bounded), so that a client
    still sending gets the answer: closing on unread input resets the connection."""
    dropped = 0
    with contextlib.suppress(TimeoutError, RuntimeError, ClientDisconnect):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in request.stream():
                dropped += len(chunk)
                if dropped >= DRAIN_BYTES:
                    return


def service_metrics(service: str) -> tuple[CollectorRegistry, Counter]:
    """A service's own registry, with prometheus_client's process, garbage-collector and
    platform collectors (`process_*`, `python_gc_*`, `python_info`), and its
    `buzzwatch_SERVICE_requests` counter."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    requests = Counter(
        f"buzzwatch_{service}_requests",
        "HTTP requests answered, by path and status code.",
        ["path", "code"],
        registry=registry,
    )
    return registry, requests


class Bearer(HTTPBearer):
    """The dependency that lets a request through with one of `tokens` as its bearer token
    (compared in constant time), and answers 401 otherwise; in the OpenAPI document, the
    security scheme `bearer`."""

    def __init__(self, tokens: Sequence[SecretStr]) -> None:
        super().__init__(
            scheme_name=BEARER, description="One of the service's tokens.", auto_error=False
        )
        self.secrets = [token.get_secret_value().encode() for token in tokens]

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        raw = given.strip().encode()
        known = bool(raw) and any(hmac.compare_digest(raw, secret) for secret in self.secrets)
        if scheme.lower() != "bearer" or not known:
            raise Refused(401, "a valid bearer token is required", BEARER_NEEDED)


class Direct(APIRoute):
    """A route documented from its declaration like any other, whose endpoint takes the
    `Request` and answers itself: FastAPI's parameter resolution, which such an endpoint does
    not use, is skipped (its custom route class hook, `get_route_handler`), and under `Capped`
    so are FastAPI's middleware and router. Dependencies would be documented and never run, and
    a sync endpoint would not be given a thread: a route with either is refused."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        if self.dependant.dependencies or not asyncio.iscoroutinefunction(self.endpoint):
            raise TypeError(f"{self.path}: a direct route has an async endpoint, no dependencies")
        return self.endpoint


def metrics_route(registry: CollectorRegistry) -> Route:
    """`GET /metrics`: prometheus_client's ASGI application for `registry` (text or
    OpenMetrics as the scraper asks, gzip when it accepts it)."""
    return Route("/metrics", _Asgi(make_asgi_app(registry)), methods=["GET"])


class _Asgi:
    """An ASGI application as a route's endpoint (Starlette wraps a plain function as a
    request handler; it calls an object as an application)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def read_body(request: Request, limit: int, seconds: float) -> bytes:
    """The request's body, of at most `limit` bytes, within `seconds`.

    Refused: 411 without a decimal Content-Length (chunked uploads included), 413 beyond
    `limit`, 408 when the body does not come in time.
    """
    length = request.headers.get("content-length", "")
    if "transfer-encoding" in request.headers or not (length.isascii() and length.isdecimal()):
        raise Refused(411, "a Content-Length is required")
    if int(length) > limit:
        raise Refused(413, f"body over {limit} bytes")
    try:
        async with asyncio.timeout(seconds):
            return await request.body()
    except TimeoutError:
        message = f"the body did not come within {seconds:g} s"
        raise Refused(408, message, drain=False) from None


class Capped:
    """ASGI middleware guarding a service: at most `limit` requests in progress at once
    (beyond, 503 at once), HTTP/1 only (505 for HTTP/2, which Hypercorn would otherwise speak
    on a cleartext connection that asks for it), and no answer waiting longer than
    `send_seconds` for a client to take it (a client that stops reading, or closes an HTTP/2
    stream under a pending answer, does not keep its slot). Every answer is counted in
    `requests` by status code and path: one of `paths` (or `/metrics`, `/openapi.json`,
    `/docs`), else `other`, as are the refusals here, so that no client makes labels up."""

    def __init__(
        self,
        app: Starlette,
        limit: int,
        requests: Counter,
        paths: Collection[str],
        send_seconds: float,
    ) -> None:
        self.app = app
        self.limit = limit
        self.requests = requests
        self.paths = frozenset({*paths, "/metrics", "/openapi.json", "/docs"})
        self.send_seconds = send_seconds
        self.running = 0
        self.direct = {
            (method, route.path): route.endpoint
            for route in app.routes
            if isinstance(route, Direct)
            for method in route.methods or ()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in self.paths else OTHER

        async def bounded(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.requests.labels(path, message["status"]).inc()
            async with asyncio.timeout(self.send_seconds):
                await send(message)

        refusal = (505, "HTTP/1.1 only") if scope.get("http_version") == "2" else None
        if refusal is None and self.running >= self.limit:
            refusal = (503, "too many requests in progress")
        if refusal is not None:
            path, (status, message) = OTHER, refusal
            await _drain(Request(scope, receive))
            answer = error(status, message, **{"Retry-After": "1", **CLOSE})
            await answer(scope, receive, bounded)
            return
        self.running += 1
        try:
            direct = self.direct.get((scope["method"], scope["path"]))
            if direct is None:
                await self.app(scope, receive, bounded)
            else:
                await _answer(direct, scope, receive, bounded)
        finally:
            self.running -= 1


async def _answer(
    endpoint: Callable[[Request], Awaitable[Response]], scope: Scope, receive: Receive, send: Send
) -> None:
    """A direct route's request answered by its endpoint, with what FastAPI's stack would
    add: `Refused` answered, any other error logged and answered 500."""
    request = Request(scope, receive)
    try:
        response: Response = await endpoint(request)
    except Refused as refused:
        response = await refused.answered(request)
    except Exception as unexpected:
        log.exception("%s %s", scope["method"], scope["path"])
        response = await _internal(request, unexpected)
    await response(scope, receive, send)


def serve(
    app: ASGIApp,
    address: str,
    port: int,
    idle_seconds: float,
    graceful_seconds: float,
    threads: int,
    stop: threading.Event,
) -> None:
    """Serve `app` on `address:port` until `stop` is set, then let the requests under way
    finish (at most `graceful_seconds`). A connection that takes longer than `idle_seconds` to
    send a request's head, or stays idle that long between two, is closed. Sync routes (the
    desk's, which wait for its lock) run on up to `threads` threads: one per request in
    progress, so that none queues behind another's wait."""
    config = Config()
    host = f"[{address}]" if ":" in address else address
    config.bind = [f"{host}:{port}"]
    config.keep_alive_timeout = idle_seconds
    config.graceful_timeout = graceful_seconds
    config.accesslog = None
    config.include_server_header = False
    config.errorlog = log

    async def stopped() -> None:
        await asyncio.to_thread(stop.wait)

    async def serving() -> None:
        to_thread.current_default_thread_limiter().total_tokens = threads
        await hypercorn_serve(app, config, shutdown_trigger=stopped)  # type: ignore[arg-type]

    asyncio.run(serving())


def collect_less() -> None:
    """Tune Python's cyclic garbage collector for a server, on its main thread before it starts
    any other (what is frozen is never collected): the objects built at startup
    (modules, the application, its models) are left out of its scans (`gc.freeze`), and the
    youngest generation is collected every `YOUNG_OBJECTS` allocations instead of 700. With
    the defaults, a collection came every few requests, found the requests in progress alive
    and moved them to the older generations, whose collections then scanned the whole heap:
    a tenth of ingest's CPU under load. Garbage without cycles is freed at once either way."""
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
