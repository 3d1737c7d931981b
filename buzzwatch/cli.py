"""The `buzzwatch` command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

from tqdm import tqdm

from pipeline.engine import Engine
from pipeline.models import Invalid, Mention
from pipeline.records import Rejections, input_format, open_input, read_records
from pipeline.replay import replay
from pipeline.settings import detection_settings, load_config


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `buzzwatch` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return int(args.run(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="buzzwatch", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the pipeline on the shipped sample stream")
    demo.add_argument("--alerts-out", type=Path, help="also write the alert events (JSONL)")
    demo.set_defaults(run=_demo)

    rp = commands.add_parser("replay", help="run a mention file through the engine, no broker")
    _input_arguments(rp)
    rp.add_argument("--alerts-out", type=Path, required=True, help="alert events (JSONL)")
    rp.set_defaults(run=_replay)

    pr = commands.add_parser("produce", help="push a mention file onto a Kafka topic")
    _input_arguments(pr)
    pr.add_argument("--topic", help="default: [kafka] mentions_topic, buzzwatch.mentions")
    pr.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    pr.add_argument("--speed", type=float, help="pace by event time, N times real time")
    pr.set_defaults(run=_produce)

    dt = commands.add_parser("detect", help="consume mentions from Kafka and publish alerts")
    dt.add_argument("--config", type=Path, help="TOML configuration file")
    dt.add_argument("--bootstrap-servers")
    dt.add_argument("--topic", dest="mentions_topic")
    dt.add_argument("--alerts-topic")
    dt.add_argument("--dead-letter-topic")
    dt.add_argument("--group-id")
    dt.add_argument("--metrics-port", type=int, default=9108)
    dt.add_argument("--metrics-address", default="0.0.0.0", help="address the metrics bind")
    dt.set_defaults(run=_detect)

    gen = commands.add_parser("generate", help="write a synthetic mention stream (JSONL)")
    gen.add_argument("--out", type=Path, required=True, help="JSONL file; .gz compresses")
    gen.add_argument("--scenario", choices=["demo", "load"], default="load")
    gen.add_argument("--mentions", type=int, default=100_000, help="load: total mentions")
    gen.add_argument("--brands", type=int, default=50, help="load: number of brands")
    gen.add_argument("--days", type=int, default=7, help="load: days of stream")
    gen.add_argument("--seed", type=int, default=1, help="load: random seed")
    gen.set_defaults(run=_generate)
    return parser


def _input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="mentions: JSONL or CSV, optionally .gz")
    parser.add_argument("--format", choices=["jsonl", "csv"], help="default: from the name")
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


@contextlib.contextmanager
def _records(args: argparse.Namespace) -> Iterator[Iterator[tuple[int, Mention | Invalid]]]:
    """The input file's numbered records, behind a progress bar on stderr."""
    path: Path = args.input
    fmt = args.format or input_format(path)
    total = None if path.suffix == ".gz" else path.stat().st_size
    with (
        open_input(path) as raw,
        tqdm.wrapattr(
            raw, "read", total=total, desc=path.name, disable=args.no_progress, file=sys.stderr
        ) as stream,
    ):
        yield read_records(cast(IO[bytes], stream), fmt)


def _report_rejections(command: str, rejected: Rejections) -> None:
    for line, reason in rejected.first:
        print(f"{command}: line {line}: {reason}", file=sys.stderr)
    if rejected.count > len(rejected.first):
        print(f"{command}: … and {rejected.count - len(rejected.first)} more", file=sys.stderr)


def _replay(args: argparse.Namespace) -> int:
    engine = Engine(detection_settings(load_config(args.config)))
    with _records(args) as records, args.alerts_out.open("w", encoding="utf-8") as out:
        summary = replay(records, engine, lambda event: out.write(event.to_json() + "\n"))
    _report_rejections("replay", summary.rejected)
    print(
        f"replay: {summary.records} records: {summary.accepted} accepted, "
        f"{summary.invalid} invalid, {summary.unbranded} without brand, {summary.late} late; "
        f"{summary.alerts} alert events written to {args.alerts_out}"
    )
    return 0


def _produce(args: argparse.Namespace) -> int:
    from consumers.settings import kafka_settings
    from producers.file_producer import mention_producer, produce

    kafka = kafka_settings(load_config(args.config), bootstrap_servers=args.bootstrap_servers)
    topic = args.topic or kafka.mentions_topic
    with _records(args) as records:
        producer = mention_producer(kafka.bootstrap_servers)
        try:
            summary = produce(records, producer, topic, speed=args.speed)
        finally:
            producer.close()
    _report_rejections("produce", summary.rejected)
    print(
        f"produce: {summary.sent} mentions sent to {topic}, {summary.rejected.count} invalid lines "
        f"skipped, {summary.failed} failed"
    )
    return 1 if summary.failed else 0


def _detect(args: argparse.Namespace) -> int:
    from consumers.detector import Detector
    from consumers.metrics import DetectorMetrics
    from consumers.settings import kafka_settings

    config = load_config(args.config)
    overrides: dict[str, Any] = {
        key: getattr(args, key)
        for key in (
            "bootstrap_servers",
            "mentions_topic",
            "alerts_topic",
            "dead_letter_topic",
            "group_id",
        )
    }
    kafka = kafka_settings(config, **overrides)
    metrics = DetectorMetrics()
    metrics.serve(args.metrics_port, args.metrics_address)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    Detector(kafka, Engine(detection_settings(config)), metrics).run(stop)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from buzzwatch.demo import run_demo

    out: IO[str] | None = args.alerts_out.open("w") if args.alerts_out else None
    try:
        return run_demo(sys.stdout, out)
    finally:
        if out:
            out.close()


def _generate(args: argparse.Namespace) -> int:
    from pipeline.synthetic import (
        demo_scenario,
        generate,
        load_scenario,
        write_jsonl,
        write_jsonl_gz,
    )

    if args.scenario == "demo":
        scenario = demo_scenario()
    else:
        scenario = load_scenario(args.mentions, args.brands, args.days, args.seed)
    mentions = generate(scenario)
    if args.out.suffix == ".gz":
        count = write_jsonl_gz(mentions, args.out)
    else:
        with args.out.open("w", encoding="utf-8") as out:
            count = write_jsonl(mentions, out)
    print(f"generate: {count} mentions written to {args.out}")
    return 0
