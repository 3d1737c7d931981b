"""`buzzwatch notify`: the alert events from Kafka to the configured webhooks."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from buzzwatch.cli.common import SubParsers, configured, fail, on_stop_signals


def add_command(commands: SubParsers) -> None:
    nt = commands.add_parser("notify", help="deliver the alert events from Kafka to webhooks")
    nt.add_argument("--config", type=Path, help="TOML configuration file ([notify] webhooks)")
    nt.add_argument("--bootstrap-servers")
    nt.add_argument("--alerts-topic")
    nt.add_argument("--group-id", help="default: [notify] group_id, buzzwatch-notify")
    nt.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from consumers.notifier import Notifier
    from consumers.settings import kafka_settings, notify_settings

    with configured(args.config) as config:
        kafka = kafka_settings(
            config, bootstrap_servers=args.bootstrap_servers, alerts_topic=args.alerts_topic
        )
        settings = notify_settings(config, group_id=args.group_id)
    if not settings.webhooks:
        return fail("notify", "no [[notify.webhooks]] configured")
    stop = threading.Event()
    on_stop_signals(stop.set)
    Notifier(kafka, settings).run(stop)
    return 0
