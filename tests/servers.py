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

REPO = Path(__file__).resolve().parents[1]
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


class PrometheusError(RuntimeError):
    """Prometheus refused a request: its own error message."""


def with_repo_rules(config_yaml: str, workdir: Path) -> Path:
    """Write a Prometheus config into `workdir`, the repository's rules in `workdir/rules`."""
    rules = workdir / "rules"
    rules.mkdir(exist_ok=True)
    for rule_file in sorted((REPO / "config" / "prometheus" / "rules").glob("*.yml")):
        shutil.copy(rule_file, rules / rule_file.name)
    config = workdir / "prometheus.yml"
    config.write_text(config_yaml, encoding="utf-8")
    return config


def query(base_url: str, promql: str) -> dict[str, Any]:
    """An instant query's `data` (`resultType`, `result`); `PrometheusError` if it fails."""
    data: dict[str, Any] = _api_get(base_url, "/api/v1/query", [("query", promql)])
    return data


def series(base_url: str, *matchers: str) -> list[dict[str, str]]:
    """Label sets of the series matching any of the selectors `matchers`."""
    data: list[dict[str, str]] = _api_get(
        base_url, "/api/v1/series", [("match[]", matcher) for matcher in matchers]
    )
    return data


def _api_get(base_url: str, path: str, params: Sequence[tuple[str, str]]) -> Any:
    url = f"{base_url}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:  # 400/422/503 carry a JSON error body
        raw = error.read()
        try:
            body = json.loads(raw)
        except ValueError:
            raise PrometheusError(f"GET {url}: HTTP {error.code}: {raw[:500]!r}") from error
    if body.get("status") != "success":
        raise PrometheusError(f"{dict(params)}: {body.get('errorType')}: {body.get('error')}")
    return body["data"]
