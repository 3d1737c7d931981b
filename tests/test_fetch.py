"""One fetch within its deadline (`producers.fetch`): a host whose addresses all hang, files
that could block, schemes the deadline cannot watch. (Servers that drip their headers or
body, or cut it short: tests/test_follow.py.)"""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from producers.fetch import fetch
from tests.servers import serving


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose accept queue is full: a new connect() hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.3)
    yield port
    for sock in [*fillers, listener]:
        sock.close()


def test_a_host_whose_addresses_all_hang_gets_the_deadline_once(
    hanging_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve = socket.getaddrinfo
    three = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", hanging_port))] * 3

    def addresses(host: str, *args: Any, **kwargs: Any) -> Any:
        return three if host == "three.test" else resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", addresses)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        fetch(urllib.request.Request(f"http://three.test:{hanging_port}/feed"), 1.0, 1000)
    assert time.monotonic() - started < 2.0  # not 1 s per address


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "feed.xml"
    os.mkfifo(fifo)  # opening it would wait for a writer for ever
    with pytest.raises(urllib.error.URLError, match="not a regular file"):
        fetch(urllib.request.Request(fifo.as_uri()), 1.0, 1000)
    feed = tmp_path / "saved.xml"
    feed.write_bytes(b"<rss/>")
    assert fetch(urllib.request.Request(feed.as_uri()), 1.0, 1000).body == b"<rss/>"
    with pytest.raises(ValueError, match="answer over 3 bytes"):
        fetch(urllib.request.Request(feed.as_uri()), 1.0, 3)


def test_schemes_the_deadline_cannot_watch_are_refused_even_by_redirect() -> None:
    with pytest.raises(urllib.error.URLError, match="unknown url type: ftp"):
        fetch(urllib.request.Request("ftp://127.0.0.1:9/feed.xml"), 1.0, 1000)

    class ToFtp(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1:9/feed.xml")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ToFtp)
    with serving(server), pytest.raises(urllib.error.HTTPError, match="redirect to ftp"):
        fetch(urllib.request.Request(f"http://127.0.0.1:{server.server_address[1]}/"), 5.0, 1000)
