"""`buzzwatch demo`: the pipeline on the sample stream shipped with the package."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from buzzwatch.cli.common import SubParsers


def add_command(commands: SubParsers) -> None:
    demo = commands.add_parser("demo", help="run the pipeline on the shipped sample stream")
    demo.add_argument("--alerts-out", type=Path, help="also write the alert events (JSONL)")
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from buzzwatch.demo import run_demo

    with args.alerts_out.open("w") if args.alerts_out else contextlib.nullcontext() as out:
        return run_demo(sys.stdout, out)
