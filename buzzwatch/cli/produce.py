"""`buzzwatch produce`: a mention file onto a Kafka topic, keyed by brand."""

from __future__ import annotations

import argparse
from pathlib import Path

from buzzwatch.cli.common import SubParsers, configured, matched, readable, report_rejections
from buzzwatch.replay_sources import file_records


def add_command(commands: SubParsers) -> None:
    pr = commands.add_parser("produce", help="push a mention file onto a Kafka topic")
    pr.add_argument("input", type=Path, help="mentions: JSONL or CSV, optionally .gz")
    pr.add_argument("--format", choices=["jsonl", "csv"], help="default: from the name")
    pr.add_argument("--config", type=Path, help="TOML configuration file")
    pr.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    pr.add_argument("--topic", help="default: [kafka] mentions_topic, buzzwatch.mentions")
    pr.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    pr.add_argument("--speed", type=float, help="pace by event time, N times real time")
    pr.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from consumers.settings import kafka_settings
    from pipeline.brands import brand_matcher
    from producers.file_producer import mention_producer, produce

    with configured(args.config) as config:
        kafka = kafka_settings(config, bootstrap_servers=args.bootstrap_servers)
        matcher = brand_matcher(config)
    topic = args.topic or kafka.mentions_topic
    with file_records(readable(args.input), args.format, not args.no_progress) as numbered:
        producer = mention_producer(kafka.client_options())
        try:
            summary = produce(numbered, producer, topic, speed=args.speed, matcher=matcher)
        finally:
            producer.close()
    report_rejections("produce", summary.rejected)
    print(
        f"produce: {summary.sent} mentions sent to {topic}{matched(summary.matched)}, "
        f"{summary.rejected.count} invalid lines skipped, {summary.failed} failed"
    )
    return 1 if summary.failed else 0
