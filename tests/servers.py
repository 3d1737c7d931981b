"""Real servers for the tests, on 127.0.0.1 and free ports: processes that must answer a
readiness URL, Alertmanager, and a recording webhook receiver."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

READY_SECONDS = 30.0
STOP_SECONDS = 10.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary(name: str, package: str) -> str:
    """Path of an installed program; fails (never skips) with the package to install."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install {package}", pytrace=False)
    return path


@contextmanager
def running(cmd: Sequence[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` until the block ends; wait (bounded) until `ready_url` answers 200."""
    with log.open("wb") as output:
        process = subprocess.Popen(cmd, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not _answers(ready_url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"{cmd[0]} did not start:\n{tail}", pytrace=False)
            time.sleep(0.1)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any]) -> int:
    """Terminate a process (kill it if it does not stop) and return its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=STOP_SECONDS)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def running_alertmanager(config: Path, workdir: Path) -> AbstractContextManager[str]:
    """A private Alertmanager (no clustering) with `config`; yields its base URL."""
    flags = [f"--storage.path={workdir / 'alertmanager-data'}", "--cluster.listen-address="]
    return _web_server("prometheus-alertmanager", config, flags, workdir)


def running_prometheus(config: Path, workdir: Path) -> AbstractContextManager[str]:
    """A Prometheus with `config` (rule paths relative to it); yields its base URL."""
    flags = [f"--storage.tsdb.path={workdir / 'prometheus-data'}"]
    return _web_server("prometheus", config, flags, workdir)


@contextmanager
def _web_server(program: str, config: Path, flags: list[str], workdir: Path) -> Iterator[str]:
    """`program` (a Debian package of that name) on 127.0.0.1 and a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        binary(program, program),
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        *flags,
    ]
    with running(cmd, f"{url}/-/ready", workdir / f"{program}.log"):
        yield url


@dataclass
class Request:
    """One request a `Receiver` got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver that records every POST and answers 200."""

    base_url: str = ""
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def at(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A running `Receiver` on 127.0.0.1 and a free port."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.record(Request(self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=STOP_SECONDS)


def query(base_url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query's result; fails with Prometheus's error message."""
    request = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read())
    assert answer["status"] == "success", f"{promql}: {answer.get('error')}"
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result
