"""One HTTP(S) or file fetch within a deadline for the whole of it.

A socket timeout bounds each read, not the fetch: a server that sends a byte now and then
(in its headers or its body) would hold a plain `urlopen` for ever, and each of a host's
addresses gets the full timeout to connect. Here every connection attempt gets only the
time left, and a timer shuts the fetch's sockets down when its time is up, wherever it is:
the fetch raises TimeoutError. Only http, https (redirects included) and regular local
files are fetched; other schemes, and files such as FIFOs that could block, are refused.
A body is read up to a size limit, and one shorter than its `Content-Length` is refused
(its validators would otherwise be saved, and the missing part never fetched again).
Name resolution is left to the system's resolver and its own timeouts.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.response
from email.message import Message
from pathlib import Path
from typing import IO, Any, NamedTuple

READ_BYTES = 64 * 1024
SCHEMES = ("http", "https")  # and file


def address(location: str) -> str:
    """A URL as given; a local path as its absolute file: URL."""
    return location if "://" in location else Path(location).resolve().as_uri()


class Fetched(NamedTuple):
    body: bytes
    headers: Message


def fetch(request: urllib.request.Request, seconds: float, max_bytes: int) -> Fetched:
    """The body and headers of `request`'s answer. Raises TimeoutError past `seconds`,
    ValueError for a body over `max_bytes` or cut short, urllib's HTTPError for an error
    status (a 304 included), OSError (URLError: a refused scheme or file) or
    http.client.HTTPException otherwise."""
    watch = _Watch(seconds)
    try:
        with _opener(watch).open(request, timeout=seconds) as response:
            body = _body(response, max_bytes)
            if watch.over():  # the shutdown ended the body early
                raise TimeoutError
            return Fetched(body, response.headers)
    except (OSError, http.client.HTTPException, ValueError) as error:
        if watch.over():  # whatever the shutdown (or a connect with no time left) made of it
            raise TimeoutError(f"{request.full_url}: not fetched in {seconds:g} s") from error
        raise
    finally:
        watch.cancel()


def _opener(watch: _Watch) -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),  # $https_proxy and the like, as urlopen honours them
        _WatchedHTTP(watch),
        _RegularFiles(),
        _WebRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),  # every other scheme: URLError
    ):
        opener.add_handler(handler)
    return opener


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
        self.deadline = time.monotonic() + seconds
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

    def over(self) -> bool:
        return self.expired or time.monotonic() >= self.deadline

    def left(self) -> float:
        """Seconds left; TimeoutError when none."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the fetch's time is up")
        return left

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def connect(
        self, address: tuple[str, int], timeout: float, source: tuple[str, int] | None = None
    ) -> socket.socket:
        """`socket.create_connection`, each address tried within the time left, each socket
        watched from its creation."""
        failure: OSError = OSError(f"no address for {address[0]}")
        for family, kind, protocol, _, target in socket.getaddrinfo(
            *address, 0, socket.SOCK_STREAM
        ):
            sock = socket.socket(family, kind, protocol)
            self.add(sock)
            try:
                sock.settimeout(min(timeout, self.left()))
                if source:
                    sock.bind(source)
                sock.connect(target)
            except OSError as error:
                sock.close()
                failure = error
                continue
            sock.settimeout(timeout)
            return sock
        raise failure


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], watch: _Watch) -> Any:
    """`base` whose sockets `watch` limits and shuts down when the fetch's time is up."""

    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            self._create_connection = watch.connect
            super().connect()
            watch.add(self.sock)  # for https, the TLS socket over the watched one

    return Watched


class _WatchedHTTP(urllib.request.HTTPSHandler):
    """http and https (`HTTPHandler`'s and `HTTPSHandler`'s work), over watched connections."""

    http_request = urllib.request.AbstractHTTPHandler.do_request_

    def __init__(self, watch: _Watch) -> None:
        super().__init__()
        self._watch = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self._watch), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = _watched(http.client.HTTPSConnection, self._watch)
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]


class _RegularFiles(urllib.request.FileHandler):
    """Local files, regular ones only: a FIFO or a device could block the fetch for ever."""

    def file_open(self, req: urllib.request.Request) -> urllib.response.addinfourl:
        path = urllib.request.url2pathname(req.selector)
        try:
            mode = os.stat(path).st_mode
        except OSError:  # a missing file: FileHandler says so
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise urllib.error.URLError(f"{path}: not a regular file")
        return super().file_open(req)


class _WebRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects to http and https only (urllib would follow one to ftp, unwatched)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme not in SCHEMES:
            raise urllib.error.HTTPError(newurl, code, f"redirect to {newurl} refused", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)
