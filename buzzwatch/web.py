"""The HTTP stack of `buzzwatch ingest` and `buzzwatch desk`: FastAPI on Hypercorn.

FastAPI generates each service's OpenAPI document from its routes and pydantic models, serves
it with interactive documentation (`/docs`, Swagger UI shipped by fastapi-offline: no CDN),
and runs the bearer-token check as one dependency. Hypercorn rather than uvicorn: it closes a
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
import hmac
import logging
import threading
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from prometheus_client import (
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    make_asgi_app,
)
from pydantic import BaseModel, SecretStr
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
OTHER = "other"  # the path label of requests for no route
# What is left of a refused request's body is read and dropped, this long and this much at most
DRAIN_SECONDS = 2.0
DRAIN_BYTES = 1 << 20
Credentials = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, description="One of the service's tokens.")),
]


class Error(BaseModel):
    """An error answer's body."""

    error: str


def error(status: int, message: str, **headers: str) -> JSONResponse:
    """An error answer: `{"error": message}`."""
    return JSONResponse({"error": message}, status, headers or None)


class Refused(Exception):
    """Raised by a route to answer `error(status, message, **headers)`."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        super().__init__(message)
        self.answer = error(status, message, **headers)


def service_app(
    title: str, version: str, description: str, requests: Counter, paths: Collection[str]
) -> FastAPI:
    """A FastAPI application with the shared behaviour: `/openapi.json` and `/docs`, errors as
    `{"error": ...}`, and every answer counted in `requests` (labels path and code): by its
    path when it is one of `paths` (or `/metrics`, `/openapi.json`, `/docs`), else as
    `other`, so that no client makes labels up."""
    app = FastAPIOffline(
        title=title,
        version=version,
        description=description,
        redoc_url=None,
        swagger_ui_parameters={"defaultModelsExpandDepth": 0},
    )

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refused)
        await _drain(request)
        return exc.answer

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        await _drain(request)
        return error(exc.status_code, str(exc.detail), **(exc.headers or {}))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return error(422, f"{where}: {first['msg']}")

    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    known = frozenset({*paths, "/metrics", "/openapi.json", "/docs"})
    app.add_middleware(Counted, requests=requests, paths=known)
    return app


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


class Counted:
    """ASGI middleware counting each answer by its path (one of `paths`, else `other`) and
    status code."""

    def __init__(self, app: ASGIApp, requests: Counter, paths: Collection[str]) -> None:
        self.app = app
        self.requests = requests
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                path = scope["path"] if scope["path"] in self.paths else OTHER
                self.requests.labels(path, message["status"]).inc()
            await send(message)

        await self.app(scope, receive, counting)


def service_metrics(service: str) -> tuple[CollectorRegistry, Counter]:
    """A service's own registry, with prometheus_client's process and platform collectors
    (`process_*`, `python_info`), and its `buzzwatch_SERVICE_requests` counter."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    requests = Counter(
        f"buzzwatch_{service}_requests",
        "HTTP requests answered, by path and status code.",
        ["path", "code"],
        registry=registry,
    )
    return registry, requests


def bearer(tokens: Sequence[SecretStr]) -> Callable[..., None]:
    """The dependency that lets a request through with one of `tokens` as its bearer token
    (compared in constant time), and answers 401 otherwise."""
    secrets = [token.get_secret_value().encode() for token in tokens]

    def check(credentials: Credentials) -> None:
        if credentials is None or not authorised(secrets, credentials.credentials):
            raise Refused(401, "a valid bearer token is required", **{"WWW-Authenticate": "Bearer"})

    return check


def authorised(secrets: Sequence[bytes], given: str) -> bool:
    """Whether `given` is one of `secrets` (constant time for each)."""
    raw = given.strip().encode()
    return bool(raw) and any(hmac.compare_digest(raw, secret) for secret in secrets)


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
        raise Refused(411, "a Content-Length is required", Connection="close")
    if int(length) > limit:
        raise Refused(413, f"body over {limit} bytes", Connection="close")
    try:
        async with asyncio.timeout(seconds):
            return await request.body()
    except TimeoutError:
        raise Refused(
            408, f"the body did not come within {seconds:g} s", Connection="close"
        ) from None


class Capped:
    """ASGI middleware: at most `limit` requests in progress at once; beyond, 503 at once."""

    def __init__(self, app: ASGIApp, limit: int, requests: Counter) -> None:
        self.app = app
        self.limit = limit
        self.requests = requests
        self.running = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.running >= self.limit:
            self.requests.labels(OTHER, 503).inc()
            answer = error(503, "too many requests in progress", **{"Retry-After": "1"})
            answer.headers["Connection"] = "close"
            await answer(scope, receive, send)
            return
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1


def serve(
    app: ASGIApp,
    address: str,
    port: int,
    idle_seconds: float,
    graceful_seconds: float,
    stop: threading.Event,
) -> None:
    """Serve `app` on `address:port` until `stop` is set, then let the requests under way
    finish (at most `graceful_seconds`). A connection that takes longer than `idle_seconds` to
    send a request's head, or stays idle that long between two, is closed."""
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

    asyncio.run(hypercorn_serve(app, config, shutdown_trigger=stopped))  # type: ignore[arg-type]
