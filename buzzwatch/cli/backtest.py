"""`buzzwatch backtest`: one NAB count series through the volume detector, scored row by row."""

from __future__ import annotations

import argparse
from pathlib import Path

from buzzwatch.cli.common import SubParsers, configured, fail


def add_command(commands: SubParsers) -> None:
    bt = commands.add_parser("backtest", help="run a NAB series through the volume detector")
    bt.add_argument("input", type=Path, help="NAB data file: timestamp,value")
    bt.add_argument("--out", type=Path, required=True, help="timestamp,value,anomaly_score CSV")
    bt.add_argument("--config", type=Path, help="TOML configuration file")
    bt.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from buzzwatch.evaluation.nab import NabError, detect, read_series, write_scored
    from pipeline.settings import detection_settings

    with configured(args.config) as config:
        settings = detection_settings(config)
    try:
        series = read_series(args.input)
    except NabError as exc:
        return fail("backtest", f"{args.input}: {exc}")
    except OSError as exc:
        return fail("backtest", f"{args.input}: {exc.strerror}")
    scores = detect(series, settings)
    write_scored(args.out, series, scores)
    alerts = sum(score >= 1.0 for score in scores)
    print(f"backtest: {len(scores)} rows, {alerts} alerts; written to {args.out}")
    return 0
