"""Real servers and tools for the tests, on 127.0.0.1 and free ports: programs the suite
needs, processes that must answer a readiness URL, Prometheus, Alertmanager, and a scripted,
recording webhook receiver."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict, deque
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
TOOL_SECONDS = 120.0
RECEIVE_SECONDS = 20.0  # upper bound of a wait for requests to a `Receiver`


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


def exec_tool(
    cmd: Sequence[str], stdin: str | None = None, timeout: float = TOOL_SECONDS
) -> subprocess.CompletedProcess[str]:
    """Run a command-line tool from the repository root, bounded in time."""
    return subprocess.run(
        cmd,
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_tool(cmd: Sequence[str], stdin: str | None = None, timeout: float = TOOL_SECONDS) -> str:
    """`exec_tool`, failing with the tool's output unless it exits 0; its stdout."""
    result = exec_tool(cmd, stdin, timeout)
    if result.returncode != 0:
        pytest.fail(
            f"{shlex.join(cmd)} exited {result.returncode}:\n{result.stdout}{result.stderr}",
            pytrace=False,
        )
    return result.stdout


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


@dataclass(frozen=True)
class Received:
    """One request the receiver got (header names lower-cased) and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def delivery(self) -> str:
        return self.headers["x-buzzwatch-delivery"]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """What the receiver answers to one request."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"ok"


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers as scripted, per path."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    then: dict[str, Reply] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, path: str, *replies: Reply, then: Reply = Reply()) -> None:
        """Answer `path`'s next requests with `replies`, and every later one with `then`."""
        with self.changed:
            self.scripts[path].extend(replies)
            self.then[path] = then

    def reply_to(self, request: Received) -> Reply:
        with self.changed:
            queue = self.scripts[request.path]
            reply = queue.popleft() if queue else self.then.get(request.path, Reply())
            self.requests.append(
                Received(request.path, request.headers, request.body, reply.status)
            )
            self.changed.notify_all()
            return reply

    def received(self) -> list[Received]:
        """Every request so far, in arrival order."""
        with self.changed:
            return list(self.requests)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received() if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = RECEIVE_SECONDS) -> list[Received]:
        """The first `count` requests to `path`; fail if they have not come within `timeout`."""
        with self.changed:
            self.changed.wait_for(
                lambda: sum(r.path == path for r in self.requests) >= count, timeout
            )
        got = self.at(path)
        assert len(got) >= count, f"{path}: {len(got)} requests of {count} after {timeout} s"
        return got[:count]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = receiver.reply_to(Received(self.path, headers, body, 0))
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean."""

    return Handler


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A running `Receiver` on 127.0.0.1 and a free port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = Receiver(server)
    server.RequestHandlerClass = _handler(receiver)
    with serving(server):
        yield receiver


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """`server` answering in a thread (one daemon thread per request) until the block ends."""
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
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
