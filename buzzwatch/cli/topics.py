"""`buzzwatch topics create`: every topic the services use, with its settings, through the
admin API."""

from __future__ import annotations

import argparse
from pathlib import Path

from buzzwatch.cli.common import SubParsers, configured, fail, kafka_errors


def add_command(commands: SubParsers) -> None:
    tp = commands.add_parser("topics", help="create every Kafka topic with its settings")
    tp.add_argument("action", choices=["create"])
    tp.add_argument("--config", type=Path, help="TOML configuration file ([kafka], [notify])")
    tp.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    tp.add_argument(
        "--partitions",
        type=int,
        default=3,
        help="of the mentions topic and of the detector's state topic (default 3)",
    )
    tp.add_argument("--replication-factor", type=int, default=1, help="default 1")
    tp.set_defaults(run=kafka_errors(run))


def run(args: argparse.Namespace) -> int:
    from consumers.provisioning import buzzwatch_topics
    from consumers.settings import kafka_settings
    from consumers.topics import ensure_topics, partition_counts

    with configured(args.config) as config:
        kafka = kafka_settings(config, bootstrap_servers=args.bootstrap_servers)
        specs = buzzwatch_topics(
            kafka, config.get("notify", {}), args.partitions, args.replication_factor
        )
    client = kafka.client_options()
    before = partition_counts(client, specs)
    ensure_topics(client, specs)
    after = partition_counts(client, specs)
    for topic, spec in specs.items():
        state = "exists" if topic in before else "created"
        configs = " ".join(f"{k}={v}" for k, v in spec["configs"].items())
        print(f"topics: {topic}: {state}, {after.get(topic, 0)} partitions {configs}".rstrip())
    if after.get(kafka.mentions_topic) != after.get(kafka.state_topic):
        return fail(
            "topics",
            f"{kafka.state_topic} must have as many partitions as {kafka.mentions_topic}",
            1,
        )
    return 0
