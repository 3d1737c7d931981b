"""`buzzwatch ingest`: mentions and webhooks over HTTP onto the mentions topic."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

from buzzwatch.cli.common import SubParsers, configured, fail, on_stop_signals


def add_command(commands: SubParsers) -> None:
    ig = commands.add_parser("ingest", help="take mentions over HTTP onto the mentions topic")
    ig.add_argument(
        "--config", type=Path, help="TOML configuration file ([ingest], [brands], [webhooks])"
    )
    ig.add_argument("--address", help="default: [ingest] address, 0.0.0.0")
    ig.add_argument("--port", type=int, help="default: [ingest] port, 8080")
    ig.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    ig.add_argument("--topic", dest="mentions_topic", help="default: [kafka] mentions_topic")
    ig.add_argument("--openapi", action="store_true", help="print the OpenAPI document, exit")
    ig.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from consumers.settings import kafka_settings
    from pipeline.brands import brand_matcher
    from producers.hooks import configured_hooks
    from producers.ingest import IngestService, openapi_document, serve
    from producers.kafka_sink import MentionSink
    from producers.settings import TOKENS_ENV, ingest_settings

    if args.openapi:
        print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))
        return 0
    with configured(args.config) as config:
        kafka = kafka_settings(
            config, bootstrap_servers=args.bootstrap_servers, mentions_topic=args.mentions_topic
        )
        settings = ingest_settings(config, address=args.address, port=args.port)
        matcher = brand_matcher(config)
        hooks = configured_hooks(config)
    if not settings.tokens:
        return fail("ingest", f"no bearer token: set [ingest] tokens or ${TOKENS_ENV}")
    sink = MentionSink(kafka.client_options(), kafka.mentions_topic, settings.send_timeout_seconds)
    stop = threading.Event()
    on_stop_signals(stop.set)
    serve(IngestService(settings, sink, matcher, hooks), stop)
    return 0
