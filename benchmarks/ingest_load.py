"""`buzzwatch ingest` under load: this release's server (FastAPI on Hypercorn) against the
reference (by default the last release on `ThreadingHTTPServer`, taken from git), in the
same run, on the same broker.

    python -m benchmarks.ingest_load [--seconds 60] [--clients 200] [--rounds 2]
                                     [--reference ed99450]

Each run starts a server on a topic of its own (3 partitions) and gives it `--seconds` of
vegeta (a Go load tester, built once with `go install` into the benchmark cache) with
`--clients` concurrent keep-alive clients sending one mention per request, as fast as answers
come. The two servers take turns, `--rounds` runs each, each going first in every other
round, so that both see the machine in the same moods. Printed per run: requests/s, latency
percentiles, the server's CPU time per request (user and system, all its threads, from /proc
where there is one), status codes, and the records on its topic, which must be at least the
202 answers: 0 lost. Then the median of each round's ratios: the machine's speed drifts
between rounds by more than the servers differ, and each round's two runs see it alike.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from benchmarks.common import CACHE
from benchmarks.kafka_throughput import broker
from tests.broker.kafka_broker import create_topic
from tests.servers import free_port, running

REPO = Path(__file__).resolve().parents[1]
REFERENCE = "ed99450"  # the last commit with the ThreadingHTTPServer ingest
VEGETA = "github.com/tsenart/vegeta/v12@v12.13.0"
TOKEN = "load-test-token"
TARGETS = 20_000  # distinct mentions, cycled
PARTITIONS = 3
PACKAGES = ("pipeline", "producers", "consumers", "buzzwatch")
RATIOS = (("per_second", "requests/s"), ("p99_ms", "p99"), ("cpu_ms", "CPU a request"))


def vegeta() -> Path:
    """The vegeta binary, built once into the cache."""
    tools = CACHE / "tools"
    binary = tools / "vegeta"
    if not binary.exists():
        print(f"building {VEGETA} with go install…", flush=True)
        env = {**os.environ, "GOBIN": str(tools), "GOPATH": str(CACHE / "gopath")}
        subprocess.run(["go", "install", VEGETA], check=True, env=env, timeout=600)
    return binary


def reference_tree(revision: str, into: Path) -> Path:
    """The packages of `revision`, extracted from git into `into`."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, *PACKAGES],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def targets(path: Path, url: str) -> None:
    """`TARGETS` vegeta JSON targets, each posting one mention of its own id."""
    header = {"Authorization": [f"Bearer {TOKEN}"], "Content-Type": ["application/json"]}
    with path.open("w", encoding="utf-8") as sink:
        for index in range(TARGETS):
            mention = {
                "id": f"load-{index}",
                "created_at": "2026-03-02T10:00:00Z",
                "brand": f"brand-{index % 50}",
                "text": f"Day {index}: the service is down again, nobody answers the phone",
            }
            body = base64.b64encode(json.dumps(mention).encode()).decode()
            target = {"method": "POST", "url": url, "body": body, "header": header}
            sink.write(json.dumps(target) + "\n")


def attack(tool: Path, where: str, seconds: int, clients: int, workdir: Path) -> dict[str, Any]:
    """vegeta's JSON report of `seconds` of `clients` closed-loop workers against `where`."""
    plan = workdir / "targets.jsonl"
    targets(plan, f"http://{where}/v1/mentions")
    attack_command = [str(tool), "attack", "-format=json", f"-targets={plan}", "-rate=0"]
    attack_command += [f"-workers={clients}", f"-max-workers={clients}", f"-duration={seconds}s"]
    attack_command += ["-timeout=30s"]
    results = workdir / "results.bin"
    with results.open("wb") as sink:
        subprocess.run(attack_command, stdout=sink, check=True, timeout=seconds + 120)
    report = subprocess.run(
        [str(tool), "report", "-type=json", str(results)],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    return dict(json.loads(report))


def records_on(bootstrap: str, topic: str) -> int:
    """The records written to `topic` (a fresh one): the sum of its end offsets."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def check_runs_from(code: Path) -> None:
    """Fail unless `python -P` with the current environment imports the packages from `code`."""
    imports = "; ".join(f"import {package}; print({package}.__file__)" for package in PACKAGES)
    files = subprocess.run(
        [sys.executable, "-P", "-c", imports],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout.split()
    for package, where in zip(PACKAGES, files, strict=True):
        if not Path(where).resolve().is_relative_to(code.resolve()):
            raise SystemExit(f"{package} is imported from {where}, not from {code}")


def measure(
    name: str, code: Path, bootstrap: str, tool: Path, seconds: int, clients: int
) -> dict[str, Any]:
    """One server's figures: run from `code` (a tree holding the packages)."""
    topic = f"load-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, partitions=PARTITIONS)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        config = workdir / "ingest.toml"
        config.write_text(f'[ingest]\ntokens = ["{TOKEN}"]\n', encoding="utf-8")
        port = free_port()
        # -P: the working directory (this repository) must not come before `code`
        command = [sys.executable, "-P", "-m", "buzzwatch", "ingest", "--config", str(config)]
        command += ["--address", "127.0.0.1", "--port", str(port)]
        command += ["--bootstrap-servers", bootstrap, "--topic", topic]
        env_path = os.environ.get("PYTHONPATH", "")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env_path]))
        try:
            check_runs_from(code)
            where = f"127.0.0.1:{port}"
            print(f"{name}: {seconds} s of {clients} clients…", flush=True)
            with running(command, f"http://{where}/healthz", workdir / "ingest.log") as server:
                before = cpu_seconds(server.pid)
                report = attack(tool, where, seconds, clients, workdir)
                after = cpu_seconds(server.pid)
        finally:
            os.environ["PYTHONPATH"] = env_path
    time.sleep(1)
    codes = {str(k): int(v) for k, v in report["status_codes"].items()}
    requests = int(report["requests"])
    written = records_on(bootstrap, topic)
    latencies = report["latencies"]
    return {
        "name": name,
        "requests": requests,
        "per_second": codes.get("202", 0) / (report["duration"] / 1e9),
        "p50_ms": latencies["50th"] / 1e6,
        "p99_ms": latencies["99th"] / 1e6,
        "cpu_ms": None
        if after is None or before is None or not requests
        else 1e3 * (after - before) / requests,
        "codes": codes,
        "errors": sorted(set(report.get("errors") or []))[:3],  # code 0: no answer, and why
        "written": written,
        "lost": max(0, codes.get("202", 0) - written),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reference", default=REFERENCE, help="git revision of the reference")
    args = parser.parse_args(argv)
    tool = vegeta()
    runs: dict[str, list[dict[str, Any]]] = {"reference": [], "this release": []}
    with broker() as bootstrap, tempfile.TemporaryDirectory() as scratch:
        trees = {"reference": reference_tree(args.reference, Path(scratch)), "this release": REPO}
        for round_ in range(args.rounds):
            order = list(trees.items())  # turn about, so the machine's drift favours neither
            for name, code in order[::-1] if round_ % 2 else order:
                run = measure(name, code, bootstrap, tool, args.seconds, args.clients)
                runs[name].append(run)
                cpu = "" if run["cpu_ms"] is None else f"; {run['cpu_ms']:.2f} ms CPU a request"
                print(
                    f"{name}: {run['per_second']:,.0f} accepted requests/s, p50 "
                    f"{run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms{cpu}; "
                    f"{run['requests']:,} requests, codes {run['codes']}; {run['written']:,} "
                    f"records on the topic, {run['lost']} lost"
                    + (f"; errors {run['errors']}" if run["errors"] else ""),
                    flush=True,
                )
    lost = sum(r["lost"] for rs in runs.values() for r in rs)
    ratios = [
        f"{paired(runs, key):.2f}× the {what}"
        for key, what in RATIOS
        if all(r[key] for rs in runs.values() for r in rs)  # measured, and not 0
    ]
    print(
        f"this release ({args.reference} the reference): {', '.join(ratios)} (medians of "
        f"{args.rounds} rounds' ratios, {args.clients} clients, {args.seconds} s a run); "
        f"{lost} lost in all"
    )


def paired(runs: dict[str, list[dict[str, Any]]], key: str) -> float:
    """The median over rounds of this release's `key` divided by the reference's."""
    pairs = zip(runs["this release"], runs["reference"], strict=True)
    return float(statistics.median(mine[key] / theirs[key] for mine, theirs in pairs))


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system, all threads) process `pid` has used; None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
