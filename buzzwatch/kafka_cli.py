"""Operator commands on Kafka itself: `buzzwatch topics create` and `buzzwatch skip`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from buzzwatch.configuration import load_config


def add_commands(commands: Any) -> None:
    """Add the commands to the `buzzwatch` parser's subparsers."""
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
    tp.set_defaults(run=_kafka_command(_topics))

    sk = commands.add_parser(
        "skip",
        help="make the detectors pass over one mentions record (stop them first)",
        description="Write into the detector group's committed offset that the record at "
        "PARTITION/OFFSET of the mentions topic is not to be read. The detectors must be "
        "stopped: the group refuses the commit while it has members.",
    )
    sk.add_argument("partition", type=int)
    sk.add_argument("offset", type=int)
    sk.add_argument("--config", type=Path, help="TOML configuration file ([kafka])")
    sk.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    sk.add_argument("--topic", dest="mentions_topic", help="default: [kafka] mentions_topic")
    sk.add_argument("--group-id", help="default: [kafka] group_id, buzzwatch-detector")
    sk.set_defaults(run=_kafka_command(_skip))


def _kafka_command(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`run`, with a Kafka that cannot be reached (or refuses) said in one line, exit 1."""

    def guarded(args: argparse.Namespace) -> int:
        from kafka.errors import KafkaError

        try:
            return run(args)
        except KafkaError as error:
            print(f"{args.command}: error: Kafka: {error}", file=sys.stderr)
            return 1

    return guarded


def _topics(args: argparse.Namespace) -> int:
    from consumers.provisioning import buzzwatch_topics
    from consumers.settings import kafka_settings
    from consumers.topics import ensure_topics, partition_counts

    try:
        config = load_config(args.config)
        kafka = kafka_settings(config, bootstrap_servers=args.bootstrap_servers)
        specs = buzzwatch_topics(
            kafka, config.get("notify", {}), args.partitions, args.replication_factor
        )
    except (OSError, ValueError) as error:
        print(f"topics: error: {error}", file=sys.stderr)
        return 2
    client = kafka.client_options()
    before = partition_counts(client, specs)
    ensure_topics(client, specs)
    after = partition_counts(client, specs)
    for topic, spec in specs.items():
        state = "exists" if topic in before else "created"
        configs = " ".join(f"{k}={v}" for k, v in spec["configs"].items())
        print(f"topics: {topic}: {state}, {after.get(topic, 0)} partitions {configs}".rstrip())
    if after.get(kafka.mentions_topic) != after.get(kafka.state_topic):
        print(
            f"topics: error: {kafka.state_topic} must have as many partitions as "
            f"{kafka.mentions_topic}",
            file=sys.stderr,
        )
        return 1
    return 0


def _skip(args: argparse.Namespace) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    from consumers.detector import skip_metadata, skipped_offsets
    from consumers.settings import kafka_settings

    try:
        config = load_config(args.config)
        kafka = kafka_settings(
            config,
            bootstrap_servers=args.bootstrap_servers,
            mentions_topic=args.mentions_topic,
            group_id=args.group_id,
        )
    except (OSError, ValueError) as error:
        print(f"skip: error: {error}", file=sys.stderr)
        return 2
    tp = TopicPartition(kafka.mentions_topic, args.partition)
    consumer = KafkaConsumer(
        **kafka.client_options(), group_id=kafka.group_id, enable_auto_commit=False
    )
    try:
        if args.partition not in (consumer.partitions_for_topic(tp.topic) or ()):
            print(f"skip: error: {tp.topic} has no partition {args.partition}", file=sys.stderr)
            return 2
        first = consumer.beginning_offsets([tp])[tp]
        end = consumer.end_offsets([tp])[tp]
        if not first <= args.offset < end:
            print(
                f"skip: error: {tp.topic}/{tp.partition} holds offsets {first} to {end - 1}",
                file=sys.stderr,
            )
            return 2
        committed = consumer.committed(tp, metadata=True)
        at = first if committed is None else committed.offset
        if args.offset < at:
            print(f"skip: {tp.topic}/{tp.partition}: the group is at {at} already, past it")
            return 0
        skips = skipped_offsets(None if committed is None else committed.metadata)
        consumer.assign([tp])
        try:
            consumer.commit({tp: OffsetAndMetadata(at, skip_metadata(skips | {args.offset}), -1)})
        except KafkaError as error:
            print(
                f"skip: error: group {kafka.group_id} refused the commit ({error!r}): "
                "stop every detector of the group first",
                file=sys.stderr,
            )
            return 1
    finally:
        consumer.close(autocommit=False)
    print(
        f"skip: group {kafka.group_id} will not read {tp.topic}/{tp.partition}/{args.offset} "
        f"(it resumes at {at})"
    )
    return 0
