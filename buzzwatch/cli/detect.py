"""`buzzwatch detect`: the consumer-group service, mentions topic → engine → alerts topic,
dead letters and Prometheus metrics."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any

from buzzwatch.cli.common import SubParsers, configured, on_stop_signals

STOP_GRACE_SECONDS = 60.0
OVERRIDES = (
    *("bootstrap_servers", "mentions_topic", "alerts_topic", "dead_letter_topic"),
    *("state_topic", "group_id", "instance_id"),
)


def add_command(commands: SubParsers) -> None:
    dt = commands.add_parser("detect", help="consume mentions from Kafka and publish alerts")
    dt.add_argument("--config", type=Path, help="TOML configuration file")
    dt.add_argument("--bootstrap-servers")
    dt.add_argument("--topic", dest="mentions_topic")
    dt.add_argument("--alerts-topic")
    dt.add_argument("--dead-letter-topic")
    dt.add_argument("--state-topic", help="compacted topic of the detector's checkpoints")
    dt.add_argument("--group-id")
    dt.add_argument(
        "--instance-id", help="stable name of this detector instance (static group membership)"
    )
    dt.add_argument("--metrics-port", type=int, help="default: [metrics] port, 9108")
    dt.add_argument("--metrics-address", help="address the metrics bind; default: [metrics]")
    dt.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from consumers.detector import Detector
    from consumers.metrics import DetectorMetrics
    from consumers.settings import kafka_settings, metrics_settings
    from pipeline.brands import brand_matcher
    from pipeline.settings import detection_settings
    from pipeline.statements import HoldingStatements

    overrides: dict[str, Any] = {key: getattr(args, key) for key in OVERRIDES}
    with configured(args.config) as config:
        kafka = kafka_settings(config, **overrides)
        served = metrics_settings(config, port=args.metrics_port, address=args.metrics_address)
        settings = detection_settings(config)
        statements = HoldingStatements.from_config(config)
        matcher = brand_matcher(config)
    metrics = DetectorMetrics(served)
    metrics.serve(served.port, served.address)
    stop = threading.Event()
    on_stop_signals(lambda: _stop_within(stop, STOP_GRACE_SECONDS))
    handles = matcher.handles if matcher else None
    Detector(kafka, settings, metrics, statements=statements, handles=handles).run(stop)
    return 0


def _stop_within(stop: threading.Event, seconds: float) -> None:
    """Ask for a clean stop; exit with status 1 if it takes longer than `seconds` (a commit
    that cannot reach the broker). Nothing is lost then: the open transaction is aborted and
    its batch processed again after the restart."""
    stop.set()

    def give_up() -> None:
        print(f"detect: could not stop cleanly within {seconds:g} s", file=sys.stderr)
        os._exit(1)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
