"""`buzzwatch skip PARTITION OFFSET`: the detector group passes over one mentions record."""

from __future__ import annotations

import argparse
from pathlib import Path

from buzzwatch.cli.common import SubParsers, configured, fail, kafka_errors


def add_command(commands: SubParsers) -> None:
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
    sk.set_defaults(run=kafka_errors(run))


def run(args: argparse.Namespace) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    from consumers.detector import skip_metadata, skipped_offsets
    from consumers.settings import kafka_settings

    with configured(args.config) as config:
        kafka = kafka_settings(
            config,
            bootstrap_servers=args.bootstrap_servers,
            mentions_topic=args.mentions_topic,
            group_id=args.group_id,
        )
    tp = TopicPartition(kafka.mentions_topic, args.partition)
    consumer = KafkaConsumer(
        **kafka.client_options(), group_id=kafka.group_id, enable_auto_commit=False
    )
    try:
        if args.partition not in (consumer.partitions_for_topic(tp.topic) or ()):
            return fail("skip", f"{tp.topic} has no partition {args.partition}")
        first = consumer.beginning_offsets([tp])[tp]
        end = consumer.end_offsets([tp])[tp]
        if not first <= args.offset < end:
            return fail("skip", f"{tp.topic}/{tp.partition} holds offsets {first} to {end - 1}")
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
            return fail(
                "skip",
                f"group {kafka.group_id} refused the commit ({error!r}): "
                "stop every detector of the group first",
                1,
            )
    finally:
        consumer.close(autocommit=False)
    print(
        f"skip: group {kafka.group_id} will not read {tp.topic}/{tp.partition}/{args.offset} "
        f"(it resumes at {at})"
    )
    return 0
