"""One HTTP(S) or file fetch within a deadline for the whole of it.

A socket timeout bounds each read, not the fetch: a server that sends a byte now and then
(in its headers or its body) would hold a plain `urlopen` for ever. Here a timer shuts the
fetch's sockets down when its time is up, wherever it is, and the fetch raises TimeoutError.
A body is read up to a size limit, and one shorter than its `Content-Length` is refused
(its validators would otherwise be saved, and the missing part never fetched again).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.request
from email.message import Message
from typing import Any, NamedTuple

READ_BYTES = 64 * 1024


class Fetched(NamedTuple):
    body: bytes
    headers: Message


def fetch(request: urllib.request.Request, seconds: float, max_bytes: int) -> Fetched:
    """The body and headers of `request`'s answer. Raises TimeoutError past `seconds`,
    ValueError for a body over `max_bytes` or cut short, urllib's HTTPError for an error
    status (a 304 included), OSError or http.client.HTTPException otherwise."""
    watch = _Watch(seconds)
    opener = urllib.request.build_opener(_WatchedHTTP(watch), _WatchedHTTPS(watch))
    try:
        with opener.open(request, timeout=seconds) as response:
            body = _body(response, max_bytes)
            if watch.expired:  # the shutdown ended the body early
                raise TimeoutError
            return Fetched(body, response.headers)
    except (OSError, http.client.HTTPException, ValueError) as error:
        if watch.expired:  # whatever the shutdown made of the answer
            raise TimeoutError(f"{request.full_url}: not fetched in {seconds:g} s") from error
        raise
    finally:
        watch.cancel()


def _body(response: Any, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(READ_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise ValueError(f"answer over {max_bytes} bytes")
        chunks.append(chunk)
    missing = getattr(response, "length", None)  # an HTTP body's announced bytes not read
    if missing:
        raise ValueError(f"answer cut short: {missing} of its announced bytes missing")
    return b"".join(chunks)


class _Watch:
    """The sockets of one fetch, shut down when its time is up."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], watch: _Watch) -> Any:
    """`base` whose sockets `watch` shuts down when the fetch's time is up."""

    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            watch.add(self.sock)

    return Watched


class _WatchedHTTP(urllib.request.HTTPHandler):
    def __init__(self, watch: _Watch) -> None:
        super().__init__()
        self._watch = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self._watch), req)


class _WatchedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, watch: _Watch) -> None:
        super().__init__()
        self._watch = watch

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = _watched(http.client.HTTPSConnection, self._watch)
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]
