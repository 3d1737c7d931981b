"""`buzzwatch desk`: the crisis desk service (incidents, response queue and crisis log over
HTTP, fed by the alerts and mentions topics)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from buzzwatch.cli.common import SubParsers, configured, on_stop_signals


def add_command(commands: SubParsers) -> None:
    desk = commands.add_parser(
        "desk", help="the crisis desk: incidents, response queue and crisis log, over HTTP"
    )
    desk.add_argument("--config", type=Path, help="TOML configuration ([desk], [kafka], [brands])")
    desk.add_argument("--log-dir", type=Path, help="default: [desk] log_dir, ./crisis-log")
    desk.add_argument("--address", help="default: [desk] address, 0.0.0.0")
    desk.add_argument("--port", type=int, help="default: [desk] port, 8090")
    desk.add_argument("--bootstrap-servers", help="default: [kafka] bootstrap_servers")
    desk.add_argument("--group-id", help="default: [desk] group_id, buzzwatch-desk")
    desk.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from consumers.desk import desk_service, serve
    from consumers.desk import run as run_desk
    from consumers.settings import desk_settings, kafka_settings
    from pipeline.brands import brand_matcher
    from pipeline.settings import detection_settings

    with configured(args.config) as config:
        settings = desk_settings(
            config,
            log_dir=args.log_dir,
            address=args.address,
            port=args.port,
            group_id=args.group_id,
        )
        kafka = kafka_settings(config, bootstrap_servers=args.bootstrap_servers)
        detection = detection_settings(config)
        matcher = brand_matcher(config)
    service = desk_service(settings, matcher.handles if matcher else {}, detection)
    stop = threading.Event()
    on_stop_signals(stop.set)
    http = threading.Thread(target=serve, args=(service, settings, stop), name="http")
    http.start()
    where = f"http://{settings.address}:{settings.port}/v1/incidents"
    print(f"desk: serving {where}, log in {settings.log_dir}")
    try:
        run_desk(service, kafka, settings.group_id, stop, settings.idle_seconds)
    finally:
        stop.set()
        http.join()
    return 0
