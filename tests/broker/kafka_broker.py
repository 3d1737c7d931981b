"""Provision and run a real single-node Apache Kafka broker (KRaft mode) for tests, without Docker.

The broker jars come from Maven Central through ``tests/broker/pom.xml`` (``mvn``) and are cached
per version; the broker runs as a plain ``java`` process bound to 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from pathlib import Path
from types import TracebackType

from kafka import KafkaAdminClient
from kafka.errors import (
    KafkaError,
    NoError,
    TopicAlreadyExistsError,
    for_code,
)

SASL_USER = "buzzwatch"
SASL_PASSWORD = "test-only-sasl-password"
KAFKA_VERSION = "4.3.1"
"""Must equal ``kafka.version`` in pom.xml and the ``apache/kafka`` image tag in docker-compose."""

POM_PATH = Path(__file__).with_name("pom.xml")
CACHE_ENV = "BUZZWATCH_KAFKA_CACHE"
MAVEN_TIMEOUT_S = 900.0
FORMAT_TIMEOUT_S = 120.0
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
KILL_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.25
LOG_TAIL_LINES = 60

_MARKER = ".complete"
_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
"""


class KafkaBrokerError(RuntimeError):
    """The Kafka broker could not be provisioned, formatted or started."""


def _say(message: str) -> None:
    """Print one progress line to stderr."""
    print(f"buzzwatch: {message}", file=sys.stderr, flush=True)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a text file ('' if it does not exist)."""
    if not path.is_file():
        return ""
    with path.open(encoding="utf-8", errors="replace") as handle:
        return "".join(deque(handle, maxlen=lines))


def default_cache_dir() -> Path:
    """Return ``$BUZZWATCH_KAFKA_CACHE`` or ``~/.cache/buzzwatch/kafka-<version>``."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "buzzwatch" / f"kafka-{KAFKA_VERSION}"


def provision(cache_dir: Path | None = None) -> Path:
    """Resolve the Kafka jars into ``<cache_dir>/lib`` (once) and return that directory.

    A marker holding the pom's hash is written last, so an interrupted or outdated download is
    redone; a file lock serialises concurrent test processes.
    """
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    lib = cache / "lib"
    marker = cache / _MARKER
    pom_hash = hashlib.sha256(POM_PATH.read_bytes()).hexdigest()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and marker.read_text().strip() == pom_hash:
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaBrokerError("Maven ('mvn') is not on PATH; it is needed to fetch Kafka")
        marker.unlink(missing_ok=True)
        shutil.rmtree(lib, ignore_errors=True)
        _say(
            f"resolving Kafka {KAFKA_VERSION} jars from Maven Central into {lib} (first run only)…"
        )
        started = time.monotonic()
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM_PATH),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
        ]
        try:
            result = subprocess.run(
                cmd, capture_output=True, text=True, timeout=MAVEN_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaBrokerError(f"mvn timed out after {MAVEN_TIMEOUT_S:.0f} s") from exc
        jars = sorted(lib.glob("*.jar"))
        if result.returncode != 0 or not jars:
            output = (result.stdout + result.stderr)[-4000:]
            raise KafkaBrokerError(f"mvn failed (exit {result.returncode}):\n{output}")
        size_mb = sum(jar.stat().st_size for jar in jars) / 1e6
        marker.write_text(pom_hash + "\n")
        _say(
            f"Kafka jars ready: {len(jars)} jars, {size_mb:.0f} MB "
            f"in {time.monotonic() - started:.1f} s"
        )
        return lib


def _free_ports(count: int) -> list[int]:
    """Return ``count`` distinct, currently free TCP ports on 127.0.0.1."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def _cluster_id() -> str:
    """Return a random Kafka cluster id (URL-safe base64 UUID, as Kafka's ``Uuid``)."""
    for _ in range(100):
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text
    raise KafkaBrokerError("could not generate a Kafka cluster id")


def _java() -> str:
    """Return the java executable (``$JAVA_HOME/bin/java`` or ``java`` on PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaBrokerError("'java' (17+) is not on PATH; it is needed to run Kafka")
    return java


def _broker_ready(bootstrap: str, cluster_id: str) -> bool:
    """Return True once our cluster (not another one on a reused port) has an unfenced broker."""
    host, port = bootstrap.rsplit(":", 1)
    try:  # cheap probe first: the admin client would retry a closed port until its timeout
        socket.create_connection((host, int(port)), timeout=1.0).close()
    except OSError:
        return False
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, bootstrap_timeout_ms=3000, request_timeout_ms=3000
        )
    except KafkaError:
        return False
    try:
        cluster = admin.describe_cluster()
    except KafkaError:
        return False
    finally:
        admin.close()
    brokers = cluster["brokers"]
    return cluster["cluster_id"] == cluster_id and any(not b["is_fenced"] for b in brokers)


class KafkaBroker:
    """A single-node KRaft Kafka broker+controller on loopback, as a context manager.

    >>> with KafkaBroker() as broker:  # doctest: +SKIP
    ...     print(broker.bootstrap)
    """

    def __init__(self, lib_dir: Path | None = None, start_timeout_s: float = START_TIMEOUT_S):
        """Prepare a broker using jars in ``lib_dir`` (default: :func:`provision`)."""
        self._lib_dir = lib_dir
        self._start_timeout_s = start_timeout_s
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._sasl_port = 0
        self._command: list[str] = []
        self._cluster_id = ""

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` bootstrap address of the running broker."""
        if self._process is None:
            raise KafkaBrokerError("the broker is not running")
        return f"127.0.0.1:{self._port}"

    @property
    def sasl_bootstrap(self) -> str:
        """The SASL_PLAINTEXT (PLAIN, `SASL_USER` / `SASL_PASSWORD`) listener's address."""
        if self._process is None:
            raise KafkaBrokerError("the broker is not running")
        return f"127.0.0.1:{self._sasl_port}"

    @property
    def log_file(self) -> Path:
        """The broker's log4j2 log file (inside the temporary work directory)."""
        if self._workdir is None:
            raise KafkaBrokerError("the broker is not running")
        return self._workdir / "broker.log"

    def __enter__(self) -> KafkaBroker:
        """Start the broker and wait until it is ready."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker and remove its temporary directory."""
        self.stop()

    def start(self) -> None:
        """Write the config, format storage, launch ``kafka.Kafka`` and wait until ready."""
        lib = self._lib_dir if self._lib_dir is not None else provision()
        self._workdir = Path(tempfile.mkdtemp(prefix="buzzwatch-kafka-"))
        try:
            self._launch(lib, self._workdir)
        except BaseException:
            self.stop()
            raise

    def _launch(self, lib: Path, workdir: Path) -> None:
        """Do the work of :meth:`start` inside ``workdir``."""
        started = time.monotonic()
        self._port, controller_port, self._sasl_port = _free_ports(3)
        config = workdir / "server.properties"
        properties = _server_properties(
            self._port, controller_port, self._sasl_port, workdir / "data"
        )
        config.write_text(properties)
        log4j = workdir / "log4j2.properties"
        log4j.write_text(_LOG4J2.format(log_file=self.log_file))
        java = [
            _java(),
            "-Xms128m",
            "-Xmx512m",
            "-XX:+UseSerialGC",  # small heap, 2 cores: cheaper startup than G1 + C2 JIT
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{lib}/*",
        ]
        cluster_id = _cluster_id()
        _say(f"starting Kafka {KAFKA_VERSION} broker on 127.0.0.1:{self._port}…")
        try:
            formatted = subprocess.run(
                [
                    *java,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "--cluster-id",
                    cluster_id,
                    "--config",
                    str(config),
                ],
                capture_output=True,
                text=True,
                timeout=FORMAT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaBrokerError(
                f"storage format timed out after {FORMAT_TIMEOUT_S:.0f} s"
            ) from exc
        if formatted.returncode != 0:
            raise KafkaBrokerError(
                f"kafka storage format failed (exit {formatted.returncode}):\n"
                f"{formatted.stdout}{formatted.stderr}\n{_tail(self.log_file)}"
            )
        self._command = [*java, "kafka.Kafka", str(config)]
        self._cluster_id = cluster_id
        self._run(started)

    def _run(self, started: float) -> None:
        """Launch the formatted broker and wait until it answers."""
        assert self._workdir is not None
        with (self._workdir / "broker.out").open("ab") as out:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
            )
        deadline = started + self._start_timeout_s
        for _ in range(int(self._start_timeout_s / POLL_INTERVAL_S) + 1):
            if self._process.poll() is not None:
                raise KafkaBrokerError(
                    f"Kafka broker exited with code {self._process.returncode} during startup\n"
                    f"{self._logs()}"
                )
            if _broker_ready(self.bootstrap, self._cluster_id):
                _say(
                    f"Kafka broker ready at {self.bootstrap} in {time.monotonic() - started:.1f} s"
                )
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL_S)
        raise KafkaBrokerError(
            f"Kafka broker not ready after {self._start_timeout_s:.0f} s\n{self._logs()}"
        )

    def halt(self) -> None:
        """Stop the broker process (SIGTERM) and keep its data, ports and configuration."""
        if self._process is None or self._process.poll() is not None:
            raise KafkaBrokerError("the broker is not running")
        self._terminate()

    def _terminate(self) -> None:
        """SIGTERM the broker process, SIGKILL it if it does not exit in time."""
        assert self._process is not None
        self._process.terminate()
        try:
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=KILL_TIMEOUT_S)

    def resume(self) -> None:
        """Start a halted broker again on the same ports, with the same data."""
        if self._process is None or self._process.poll() is None:
            raise KafkaBrokerError("the broker was not halted")
        self._run(time.monotonic())

    def _logs(self) -> str:
        """Return the tails of the broker's console output and log file."""
        assert self._workdir is not None
        return (
            f"--- broker.out (tail) ---\n{_tail(self._workdir / 'broker.out')}"
            f"--- broker.log (tail) ---\n{_tail(self.log_file)}"
        )

    def stop(self) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL) and remove its work directory."""
        if self._process is not None and self._process.poll() is None:
            self._terminate()
        self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


def _server_properties(port: int, controller_port: int, sasl_port: int, data_dir: Path) -> str:
    """Return a combined broker+controller server.properties bound to 127.0.0.1 only.

    Besides PLAINTEXT, a SASL_PLAINTEXT listener (mechanism PLAIN, user `SASL_USER`) lets the
    tests check that the services' SASL settings reach the client.
    """
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port},"
            f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}"
        ),
        "advertised.listeners": (
            f"PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}"
        ),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": (
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
        ),
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
            f'{plain} required username="{SASL_USER}" password="{SASL_PASSWORD}" '
            f'user_{SASL_USER}="{SASL_PASSWORD}";'
        ),
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        # test streams are dated in the past: time-based retention would delete them
        "log.retention.ms": "-1",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 3,
    timeout_s: float = 30.0,
    configs: dict[str, str] | None = None,
) -> None:
    """Create ``name`` with ``partitions`` partitions (and topic ``configs``) and wait until
    every partition has a leader.

    An already existing topic is accepted as is.
    """
    timeout_ms = int(timeout_s * 1000)
    spec = {"num_partitions": partitions, "replication_factor": 1, "configs": configs or {}}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        result = admin.create_topics({name: spec}, raise_errors=False)
        for topic in result["topics"]:
            error = for_code(topic["error_code"])
            if error not in (NoError, TopicAlreadyExistsError):
                raise error(f"creating topic {topic['name']}: {topic['error_message']}")
        admin.wait_for_topics([name], timeout_ms=timeout_ms)
    finally:
        admin.close()
